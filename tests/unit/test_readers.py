"""The file readers on real data (Chicago, San Francisco, Mesa, Snow, Columbus) and on the
bad-input corpus of tests/data/bad (see its README.md for what is wrong where)."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from gis.errors import InputFileError, RowIssue
from gis.readers import RawTable, file_sha256, load_mapping, read_table

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "bad"


def _issue_rows(table: RawTable, key: str) -> list[int]:
    """Row numbers (as users see them) of rows with an issue ``key``."""
    return sorted(
        int(table.row_numbers[pos])
        for pos, issues in table.row_issues.items()
        if any(issue.key == key for issue in issues)
    )


# --- real files -----------------------------------------------------------------------------


def test_sf_robbery_shapefile_rows_crs_and_columns() -> None:
    table = read_table(DATA / "sanfrancisco" / "sf_robbery.shp")
    assert len(table.frame) == 2761
    assert table.crs is not None and table.crs.to_epsg() == 2227
    assert table.frame.crs == table.crs
    assert table.format == "shp"
    assert table.columns_mapped["IncidntNum"] == "source_id"
    assert table.columns_mapped["Date"] == "occurred_from"
    # The file has geometry, so its X/Y degree columns are not taken as lon/lat.
    assert "X" in table.frame.columns and "lon" not in table.frame.columns
    assert table.frame.geometry.geom_type.eq("Point").all()
    assert list(table.row_numbers[:3]) == [1, 2, 3] and table.row_numbers[-1] == 2761
    assert list(table.frame.index) == list(range(2761))
    # 715 exact repeats under one IncidntNum leave 2,046 incidents (data README).
    assert table.frame["source_id"].nunique() == 2046
    raw = table.raw_rows[0]
    json.dumps(raw)
    assert raw["IncidntNum"] == 120516979
    assert raw["Date"] == "2012-07-01T00:00:00"
    assert shapely.from_wkt(raw["geometry"]).equals(table.frame.geometry.iat[0])


def test_sf_cartheft_counts() -> None:
    table = read_table(DATA / "sanfrancisco" / "sf_cartheft.shp")
    assert len(table) == 3384
    assert table.frame["source_id"].nunique() == 3079


def test_chicago_red_light_cameras_from_upper_case_lon_lat() -> None:
    table = read_table(DATA / "chicago" / "red_light_camera_locations.csv")
    assert len(table.frame) == 149
    assert table.columns_mapped["LATITUDE"] == "lat"
    assert table.columns_mapped["LONGITUDE"] == "lon"
    assert table.crs is None and table.frame.crs is None  # lon/lat columns declare nothing
    assert table.row_issues == {}
    assert table.frame.geometry.notna().all()
    first = table.frame.geometry.iat[0]
    assert (first.x, first.y) == (-87.726979, 41.931791)  # Pulaski-Diversey, line 2
    assert table.row_numbers[0] == 2 and table.row_numbers[-1] == 150
    assert table.header_row == 1 and table.encoding == "utf-8"
    # INTERSECTION and LOCATION both mean address: the first wins, the warning says so.
    assert table.columns_mapped["INTERSECTION"] == "address"
    assert "LOCATION" in table.frame.columns
    assert any("LOCATION" in w and "INTERSECTION" in w for w in table.warnings)
    # Values stay text; the layer converts them.
    assert table.frame["installed_on"].iat[0] == "2009-05-15T00:00:00"
    assert table.frame["THIRD APPROACH"].iat[0] == ""


def test_chicago_crime_empty_coordinates_reported_with_line_numbers() -> None:
    path = DATA / "chicago" / "ChicagoCrime_10k_2021_days.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        expected = [
            reader.line_num for row in reader if not row["Latitude"] or not row["Longitude"]
        ]
    assert len(expected) == 67  # counted independently with the csv module
    table = read_table(path)
    assert len(table.frame) == 9999
    assert table.columns_mapped["Latitude"] == "lat"
    assert table.columns_mapped["Longitude"] == "lon"
    assert table.columns_mapped["Primary Type"] == "category"
    assert "Date (days since 1/1/2021)" not in table.columns_mapped  # days, not a date
    assert _issue_rows(table, "io.empty_coordinates") == expected
    empty = table.frame.geometry.isna().to_numpy()
    assert empty.sum() == 67
    assert set(np.flatnonzero(empty)) == set(table.row_issues)
    assert len(table.raw_rows) == 9999
    pos = next(iter(table.row_issues))
    issue = table.row_issues[pos][0]
    assert issue.column == "Latitude, Longitude"
    assert "坐标为空" in issue.text and "coordinates are empty" in issue.text
    assert table.raw_rows[pos]["Latitude"] == ""


def test_other_real_files_read_with_their_crs() -> None:
    cases = {
        DATA / "chicago" / "commareas.geojson": (77, "EPSG:4326"),
        DATA / "chicago" / "Chi_Carjackings.geojson": (1412, "EPSG:4326"),
        DATA / "reference" / "columbus.geojson": (49, "EPSG:4326"),
        DATA / "reference" / "deaths.geojson": (578, "EPSG:4326"),
        DATA / "reference" / "pumps.geojson": (8, "EPSG:4326"),
        DATA / "mesa" / "crimes.shp": (287, "ESRI:102649"),
        DATA / "mesa" / "schools.shp": (8, "ESRI:102649"),
        DATA / "mesa" / "streets.shp": (293, "ESRI:102649"),
        DATA / "chicago" / "speed_camera_locations.csv": (161, None),
        DATA / "chicago" / "cps_schools_progress_report.csv": (653, None),
    }
    for path, (rows, crs) in cases.items():
        table = read_table(path)
        assert len(table.frame) == rows, path
        if crs is None:
            assert table.crs is None
            assert table.frame.geometry.notna().all(), path
        else:
            assert table.crs is not None
            assert ":".join(table.crs.to_authority(min_confidence=20)) == crs, path
        json.dumps(table.raw_rows[rows - 1])
    streets = read_table(DATA / "mesa" / "streets.shp")
    assert streets.frame.geometry.geom_type.isin(["LineString", "MultiLineString"]).all()


def test_canonical_restricts_synonyms() -> None:
    grids = BAD / "grids_self_intersecting.geojson"
    unrestricted = read_table(grids)
    assert unrestricted.columns_mapped["网格编码"] == "grid_code"
    as_grid_layer = read_table(
        grids, canonical=["code", "name", "kind", "village_code", "households", "population"]
    )
    assert as_grid_layer.columns_mapped == {
        "网格编码": "code",
        "网格名称": "name",
        "类型": "kind",
        "户数": "households",
        "人口": "population",
    }
    assert as_grid_layer.frame["code"].str.len().eq(15).all()
    # Only the grid layer's own names: Chicago's INTERSECTION (address) stays as it is.
    cams = read_table(
        DATA / "chicago" / "red_light_camera_locations.csv", canonical=["source_id", "name"]
    )
    assert "INTERSECTION" in cams.frame.columns and "address" not in cams.frame.columns
    assert cams.frame.geometry.notna().all()  # lon/lat are always allowed


# --- the bad-input corpus -------------------------------------------------------------------


def test_incidents_mixed_rows_issues_and_line_numbers() -> None:
    table = read_table(BAD / "incidents_mixed.csv")
    frame = table.frame
    assert len(frame) == 20
    assert table.columns_mapped == {
        "编号": "source_id",
        "类别": "category",
        "发案时间": "occurred_from",
        "地址": "address",
        "经度": "lon",
        "纬度": "lat",
    }
    assert list(frame.columns) == [*table.columns_mapped.values(), "geometry"]
    lines = dict(zip(frame["source_id"] + "@" + frame["address"], table.row_numbers, strict=True))
    assert lines["HZ2026100001@杭州市西湖区文三路100号"] == 2
    # The quoted address of HZ2026100010 spans lines 13-14, so later records shift by one.
    assert frame["address"].iat[11] == "杭州市上城区清泰街358号\n(门口停车场)"
    assert table.row_numbers[11] == 13
    assert table.row_numbers[12] == 15
    assert table.row_numbers[-1] == 22
    # Empty coordinates (line 7) and a non-number (line 16): geometry None, row kept.
    assert _issue_rows(table, "io.empty_coordinates") == [7]
    assert _issue_rows(table, "io.bad_number") == [16]
    bad = table.row_issues[13][0]
    assert bad == RowIssue("io.bad_number", column="经度", value="未知")
    assert frame.geometry.isna().sum() == 2
    # Full-width digits are numbers; swapped axes and metres are left to the importer.
    full_width = frame.geometry.iat[12]
    assert (full_width.x, full_width.y) == pytest.approx((120.1478, 30.2691))
    swapped = frame.geometry.iat[6]
    assert (swapped.x, swapped.y) == (30.2085, 120.2101)
    metres = frame.geometry.iat[10]
    assert metres.x > 500_000 and metres.y > 3_000_000
    # The impossible date is passed through as text for the layer to judge.
    assert frame["occurred_from"].iat[7] == "2026-02-30 10:00:00"
    # Exact duplicate (lines 4 and 11) and conflicting id (lines 3 and 10) are all kept.
    assert (frame["source_id"] == "HZ2026100003").sum() == 2
    assert (frame["source_id"] == "HZ2026100002").sum() == 2
    assert table.raw_rows[5] == {
        "编号": "HZ2026100006",
        "类别": "盗窃",
        "发案时间": "2026-10-03 14:20:00",
        "地址": "杭州市西湖区转塘街道某村三组",
        "经度": "",
        "纬度": "",
    }


def test_gbk_csv_is_decoded() -> None:
    table = read_table(BAD / "incidents_gbk.csv")
    assert table.encoding == "gb18030"
    assert len(table.frame) == 10
    assert table.frame["address"].iat[0] == "杭州市西湖区北山街道宝石山下一弄"
    assert table.frame["category"].tolist()[:3] == ["盗窃", "抢夺", "盗窃"]
    assert table.columns_mapped["警情编号"] == "source_id"
    assert table.columns_mapped["接警时间"] == "reported_at"
    assert table.columns_mapped["发案地点"] == "address"
    assert table.raw_rows[0]["发案地点"] == "杭州市西湖区北山街道宝石山下一弄"
    assert list(table.row_numbers) == list(range(2, 12))  # CRLF line ends
    assert table.frame.geometry.notna().all()


def test_utf8_csv_read_in_place_with_bom_long_rows_and_a_cut_head(tmp_path: Path) -> None:
    """UTF-8 files are checked and parsed without being made one Python string: a BOM, a head
    whose 64 KiB cut falls inside a character, and an invalid byte far into the file (which
    makes the file GB18030, as a decoder would) all read as before (a blank file with a BOM:
    test_file_errors_are_clear)."""
    address = "演示省云州市清溪县城关镇北埠村" * 300  # 13,500 bytes a row
    rows = [f"A{i},{address},119.9,29.7" for i in range(8)]
    text = "编号,发案地址,经度,纬度\n" + "\n".join(rows) + "\n"
    for name, raw in (("plain.csv", text.encode()), ("bom.csv", b"\xef\xbb\xbf" + text.encode())):
        path = tmp_path / name
        path.write_bytes(raw)
        table = read_table(path)
        assert table.encoding == ("utf-8-sig" if name == "bom.csv" else "utf-8")
        assert table.frame["source_id"].tolist() == [f"A{i}" for i in range(8)]
        assert (table.frame["address"] == address).all()
        assert table.row_numbers.tolist() == list(range(2, 10))

    gbk = tmp_path / "gbk_tail.csv"
    gbk.write_bytes(text.encode() + "B9,北埠村,119.9,29.7\n".encode("gb18030"))
    table = read_table(gbk)
    assert table.encoding == "gb18030"
    assert len(table.frame) == 9


def test_xlsx_title_row_is_skipped() -> None:
    table = read_table(BAD / "incidents_title_row.xlsx")
    assert table.header_row == 2
    assert table.layer_name == "10月台账"
    assert list(table.row_numbers) == [3, 4, 5]
    assert table.frame["source_id"].tolist() == ["ZT202610001", "ZT202610002", "ZT202610003"]
    assert table.frame["category"].iat[0] == "盗窃"
    # Excel datetimes become ISO text; a date-only cell stays a date.
    assert table.frame["occurred_from"].tolist() == [
        "2026-10-03T14:20:00",
        "2026-10-09",
        "2026-10-15T22:05:00",
    ]
    point = table.frame.geometry.iat[0]
    assert (point.x, point.y) == (120.0623, 30.1752)
    assert _issue_rows(table, "io.empty_coordinates") == [5]
    assert any("第 2 行" in w for w in table.warnings)
    assert table.raw_rows[2]["经度"] == ""


def test_xlsx_sheet_choice(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as err:
        read_table(BAD / "incidents_title_row.xlsx", sheet="Sheet9")
    assert "10月台账" in str(err.value) and err.value.key == "io.sheet_not_found"
    assert len(read_table(BAD / "incidents_title_row.xlsx", sheet=0)) == 3


def test_truncated_geojson_error_names_the_file() -> None:
    path = BAD / "truncated.geojson"
    with pytest.raises(InputFileError) as err:
        read_table(path)
    assert err.value.key == "io.truncated_geojson"
    assert str(path) in err.value.zh and str(path) in err.value.en
    assert "truncated" in err.value.en and "截断" in err.value.zh
    assert err.value.params["line"] > 1


def test_zip_without_prj_has_no_crs() -> None:
    table = read_table(BAD / "cameras_no_prj.zip")
    assert table.crs is None and table.frame.crs is None
    assert table.path == BAD / "cameras_no_prj.zip"
    assert len(table.frame) == 5
    assert table.layer_name == "cameras"
    assert any(".prj" in w for w in table.warnings)
    assert table.frame["name"].iat[0] == "文三路学院路口"  # UTF-8 attributes (.cpg)
    assert table.columns_mapped == {
        "id": "source_id",
        "name": "name",
        "kind": "kind",
        "status": "status",
    }
    point = table.frame.geometry.iat[0]
    assert (point.x, point.y) == (120.1350, 30.2786)


def test_zipped_shapefile_with_prj_and_zipped_geojson(tmp_path: Path) -> None:
    archive = tmp_path / "sf.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for suffix in ("shp", "shx", "dbf", "prj"):
            zf.write(DATA / "sanfrancisco" / f"sf_robbery.{suffix}", f"sf/sf_robbery.{suffix}")
        zf.write(DATA / "reference" / "pumps.geojson", "pumps.geojson")
    table = read_table(archive)
    assert len(table) == 2761 and table.crs is not None and table.crs.to_epsg() == 2227
    assert table.warnings and "pumps.geojson" in table.warnings[0]  # several data files
    pumps = read_table(archive, layer="pumps")
    assert len(pumps) == 8 and pumps.crs is not None and pumps.crs.to_epsg() == 4326


def test_feet_under_lon_lat_headers_are_passed_through() -> None:
    table = read_table(BAD / "incidents_feet_no_crs.csv")
    assert table.crs is None
    assert len(table.frame) == 6
    first = table.frame.geometry.iat[0]
    assert (first.x, first.y) == (5996647.0, 2088056.0)  # EPSG:2227 feet, not reprojected
    assert table.frame["source_id"].iat[0] == "120516979"


def test_kml_cameras() -> None:
    table = read_table(BAD / "cameras.kml")
    assert len(table.frame) == 4
    assert table.crs is not None and table.crs.to_epsg() == 4326
    assert table.frame["name"].tolist()[0] == "文三路学院路口"
    point = table.frame.geometry.iat[3]
    assert (point.x, point.y) == (120.0590, 30.2457)


# --- mappings, geometry columns, errors -----------------------------------------------------


def test_user_mapping_overrides_synonyms(tmp_path: Path) -> None:
    path = DATA / "chicago" / "red_light_camera_locations.csv"
    table = read_table(path, mapping={"INTERSECTION": "name", "LOCATION": "address"})
    assert table.columns_mapped["INTERSECTION"] == "name"
    assert table.columns_mapped["LOCATION"] == "address"
    assert table.frame["name"].iat[0] == "Pulaski-Diversey"
    for name, text in {
        "map.toml": '[columns]\nINTERSECTION = "name"\n',
        "map.json": '{"INTERSECTION": "name"}',
        "map.csv": "原表头,标准列名\nINTERSECTION,name\n",
    }.items():
        mapping_file = tmp_path / name
        mapping_file.write_text(text, encoding="utf-8")
        assert load_mapping(mapping_file) == {"INTERSECTION": "name"}
        assert read_table(path, mapping=mapping_file).columns_mapped["INTERSECTION"] == "name"
    with pytest.raises(InputFileError) as err:
        read_table(path, mapping={"INTERSECTION": "nmae"})
    assert err.value.key == "io.mapping_unknown_canonical" and "nmae" in str(err.value)


def test_wkt_column_and_bad_wkt(tmp_path: Path) -> None:
    path = tmp_path / "places.csv"
    path.write_text(
        "名称,WKT\n"
        "西湖小学,POINT (120.15 30.27)\n"
        '操场,"POLYGON ((120 30, 120.01 30, 120.01 30.01, 120 30))"\n'
        "坏的,POINT (120.1\n"
        "空的,\n",
        encoding="utf-8",
    )
    table = read_table(path)
    assert table.columns_mapped == {"名称": "name", "WKT": "wkt"}
    geoms = table.frame.geometry
    assert geoms.iat[0].equals(shapely.Point(120.15, 30.27))
    assert geoms.iat[1].geom_type == "Polygon"
    assert geoms.iloc[2:].isna().all()
    assert _issue_rows(table, "io.bad_wkt") == [4]
    assert _issue_rows(table, "io.empty_wkt") == [5]


def test_title_row_in_csv_semicolons_and_ragged_rows(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text(
        "某村2026年10月纠纷台账;;\n编号;地址;经度;纬度\nA1;村口;120.1;30.2\nA2;村委\nA3;桥头;120,12;30,21\n",
        encoding="utf-8-sig",
    )
    table = read_table(path)
    assert table.encoding == "utf-8-sig"
    assert table.header_row == 2
    assert list(table.row_numbers) == [3, 4, 5]
    assert _issue_rows(table, "io.ragged_row") == [4]
    assert table.frame["address"].tolist() == ["村口", "村委", "桥头"]
    decimal_comma = table.frame.geometry.iat[2]
    assert (decimal_comma.x, decimal_comma.y) == pytest.approx((120.12, 30.21))


def test_file_errors_are_clear(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputFileError) as err:
        read_table(missing)
    assert err.value.key == "io.file_not_found" and str(missing) in str(err.value)

    for content in (b"", b"\xef\xbb\xbf \r\n\t\n"):  # nothing, or a BOM and blank lines
        empty = tmp_path / "empty.csv"
        empty.write_bytes(content)
        with pytest.raises(InputFileError) as err:
            read_table(empty)
        assert err.value.key == "io.empty_file"

    header_only = tmp_path / "header.csv"
    header_only.write_text("编号,经度,纬度\n", encoding="utf-8")
    with pytest.raises(InputFileError) as err:
        read_table(header_only)
    assert err.value.key == "io.no_rows" and str(header_only) in str(err.value)

    legacy = tmp_path / "old.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputFileError) as err:
        read_table(legacy)
    assert err.value.key == "io.unsupported_format"
    assert "old.xls" in str(err.value) and ".xlsx" in str(err.value)

    with pytest.raises(InputFileError) as err:
        read_table(DATA / "bad" / "grids_self_intersecting.geojson", layer="nope")
    assert err.value.key == "io.layer_not_found"

    not_zip = tmp_path / "broken.zip"
    not_zip.write_bytes(b"PK not really")
    with pytest.raises(InputFileError) as err:
        read_table(not_zip)
    assert err.value.key == "io.bad_zip"


def test_gpkg_layers(tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    pumps = pyogrio.read_dataframe(DATA / "reference" / "pumps.geojson")
    grids = pyogrio.read_dataframe(BAD / "grids_self_intersecting.geojson")
    pyogrio.write_dataframe(pumps, path, layer="pumps")
    pyogrio.write_dataframe(grids, path, layer="grids")
    first = read_table(path)
    assert first.layer_name == "pumps" and len(first) == 8
    assert any("grids" in w for w in first.warnings)
    chosen = read_table(path, layer="grids", canonical=["code", "name"])
    assert len(chosen) == 4 and chosen.crs is not None and chosen.crs.to_epsg() == 4326
    assert chosen.frame["code"].iat[3] == "330106001001004"
    assert not chosen.frame.geometry.iat[3].is_valid  # the bow-tie is passed through


def test_shapefile_without_prj_on_disk(tmp_path: Path) -> None:
    for suffix in ("shp", "shx", "dbf"):
        shutil.copy(DATA / "mesa" / f"schools.{suffix}", tmp_path / f"schools.{suffix}")
    table = read_table(tmp_path / "schools.shp")
    assert table.crs is None and len(table) == 8
    assert any(".prj" in w for w in table.warnings)


def test_file_sha256() -> None:
    path = BAD / "incidents_gbk.csv"
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_raw_rows_are_json_for_every_format() -> None:
    for path in sorted(BAD.iterdir()):
        if path.suffix in {".py", ".md"} or path.name == "truncated.geojson":
            continue
        table = read_table(path)
        assert len(table.raw_rows) == len(table.frame) == len(table.row_numbers)
        text = json.dumps(list(table.raw_rows), ensure_ascii=False)
        assert json.loads(text)[0]
        assert isinstance(table.frame.index, pd.RangeIndex)
