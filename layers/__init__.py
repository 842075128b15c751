"""Domain layers: base layers with their validation and persistence, read back in one call.

The public names are re-exported here so modules can move without breaking callers.
"""

from layers.access import counts, incident_counts, incident_detail, incident_monthly_counts, read
from layers.ingest import BASE_LAYERS, import_file, import_frame, import_table

__all__ = [
    "BASE_LAYERS",
    "counts",
    "import_file",
    "import_frame",
    "import_table",
    "incident_counts",
    "incident_detail",
    "incident_monthly_counts",
    "read",
]
