# ruff: noqa: E501  (one CSV record per source line, so the rows read like the file)
"""Regenerate the bad-input corpus in this folder, byte for byte.

Run from the repository root::

    uv run python tests/data/bad/make_corpus.py

The files are committed too; this script documents how each was made and keeps the binary
ones (XLSX, zipped shapefile) reproducible: zip timestamps and the DBF date are pinned.
See README.md for what is wrong in each file.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import tempfile
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pyogrio
import pyproj
from openpyxl.styles import Alignment, Font
from shapely.geometry import Point

HERE = Path(__file__).resolve().parent
SF_ROBBERY = HERE.parent / "sanfrancisco" / "sf_robbery.shp"
ZIP_TIME = (2026, 1, 1, 0, 0, 0)
HEADER = "编号,类别,发案时间,地址,经度,纬度"


def _metres() -> tuple[float, float]:
    """West Lake District point in CGCS2000 / 3-degree Gauss-Kruger CM 120E (EPSG:4549)."""
    to_gk = pyproj.Transformer.from_crs(4490, 4549, always_xy=True)
    x, y = to_gk.transform(120.1160, 30.2740)
    return round(x, 2), round(y, 2)


def incidents_mixed() -> None:
    """UTF-8 incidents near Hangzhou with one problem per marked row (see README.md)."""
    x, y = _metres()
    lines = [
        HEADER,
        "HZ2026100001,盗窃,2026-10-01 08:15:00,杭州市西湖区文三路100号,120.1321,30.2785",
        "HZ2026100002,抢劫,2026-10-01 22:40:00,杭州市西湖区古墩路88号,120.0958,30.2961",
        "HZ2026100003,抢夺,2026-10-02 19:05:00,杭州市拱墅区莫干山路210号,120.1502,30.2917",
        "HZ2026100004,盗窃,2026-10-02,杭州市上城区解放路50号,120.1698,30.2562",
        "HZ2026100005,诈骗,2026-10-03 09:30:00,杭州市西湖区天目山路300号,120.1203,30.2788",
        "HZ2026100006,盗窃,2026-10-03 14:20:00,杭州市西湖区转塘街道某村三组,,",
        "HZ2026100007,抢夺,2026-10-04 20:10:00,杭州市滨江区江南大道500号,30.2085,120.2101",
        "HZ2026100008,盗窃,2026-02-30 10:00:00,杭州市萧山区人民路12号,120.2645,30.1851",
        "HZ2026100002,盗窃,2026-10-05 03:15:00,杭州市余杭区文一西路999号,120.0012,30.2889",
        "HZ2026100003,抢夺,2026-10-02 19:05:00,杭州市拱墅区莫干山路210号,120.1502,30.2917",
        f"HZ2026100009,盗窃,2026-10-06 11:45:00,杭州市西湖区西溪路525号,{x},{y}",
        'HZ2026100010,抢劫,2026-10-06 23:55:00,"杭州市上城区清泰街358号\n(门口停车场)",120.1732,30.2509',
        "HZ2026100011,盗窃,2026-10-07 07:30:00,杭州市西湖区保俶路2号,１２０．１４７８,３０．２６９１",
        "HZ2026100012,盗窃,2026-10-07 16:00:00,杭州市拱墅区湖墅南路,未知,30.2790",
        "HZ2026100013,诈骗,2026-10-08 10:10:00,杭州市西湖区学院路77号,120.1352,30.2824",
        "HZ2026100014,抢夺,2026-10-08 21:30:00,杭州市上城区延安路200号,120.1651,30.2637",
        "HZ2026100015,盗窃,2026-10-09 02:45:00,杭州市拱墅区大关路150号,120.1458,30.3094",
        "HZ2026100016,盗窃,2026-10-10 12:00:00,杭州市西湖区灵隐路,120.1012,30.2436",
        "HZ2026100017,抢劫,2026-10-11 01:20:00,杭州市滨江区长河路,120.1889,30.1942",
        "HZ2026100018,盗窃,2026-10-12 18:40:00,杭州市西湖区留下街道,120.0584,30.2461",
    ]
    (HERE / "incidents_mixed.csv").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


def incidents_junk_times() -> None:
    """Incidents whose 发案时间 mixes junk with valid times written every supported way; the
    junk next to 2024年3月5日 once crashed the import ("Mixed timezones detected")."""
    lines = [
        HEADER,
        "HZ2026110001,盗窃,2024年3月5日,杭州市西湖区文三路100号,120.1321,30.2785",
        "HZ2026110002,盗窃,72:1-45-00t14:07:03,杭州市西湖区古墩路88号,120.0958,30.2961",
        "HZ2026110003,抢夺,2026-01-01T10:00+08:00,杭州市拱墅区莫干山路210号,120.1502,30.2917",
        "HZ2026110004,抢劫,2026-01-01T10:00Z,杭州市上城区解放路50号,120.1698,30.2562",
        "HZ2026110005,诈骗,2026/10/1 8:30,杭州市西湖区天目山路300号,120.1203,30.2788",
        "HZ2026110006,盗窃,9999-99-99,杭州市西湖区转塘街道某村三组,120.0618,30.1760",
        "HZ2026110007,盗窃,30000-01-01,杭州市滨江区江南大道500号,120.2101,30.2085",
        "HZ2026110008,盗窃,+08:00,杭州市萧山区人民路12号,120.2645,30.1851",
        "HZ2026110009,抢夺,2026-10-01 08:30 UTC,杭州市余杭区文一西路999号,120.0012,30.2889",
        "HZ2026110010,盗窃,2026-10-02 19:05:00,杭州市西湖区西溪路525号,120.1160,30.2740",
        f"HZ2026110011,盗窃,2026-10-03 {'9' * 200},杭州市西湖区保俶路2号,120.1478,30.2691",
        "HZ2026110012,抢劫,2026-10-01T08+08:00,杭州市拱墅区湖墅南路,120.1512,30.2790",
    ]
    (HERE / "incidents_junk_times.csv").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


def incidents_gbk() -> None:
    """A GBK export of Chinese Excel: other header words, CRLF line ends."""
    lines = [
        "警情编号,警情类别,接警时间,发案时间,发案地点,经度,纬度",
        "JQ20261001001,盗窃,2026-10-01 09:02,2026-10-01 08:40,杭州市西湖区北山街道宝石山下一弄,120.1465,30.2632",
        "JQ20261001002,抢夺,2026-10-01 21:15,2026-10-01 21:05,杭州市西湖区曙光路与黄龙路口,120.1402,30.2705",
        "JQ20261002001,盗窃,2026-10-02 07:30,2026-10-01 23:00,杭州市拱墅区米市巷街道,120.1556,30.2881",
        "JQ20261002002,诈骗,2026-10-02 15:48,2026-10-02 14:30,杭州市上城区湖滨街道,120.1657,30.2589",
        "JQ20261003001,盗窃,2026-10-03 10:12,2026-10-03 09:50,杭州市西湖区翠苑街道,120.1238,30.2867",
        "JQ20261003002,抢劫,2026-10-03 22:41,2026-10-03 22:30,杭州市滨江区西兴街道,120.2012,30.2073",
        "JQ20261004001,盗窃,2026-10-04 08:05,2026-10-03 20:00,杭州市萧山区城厢街道,120.2683,30.1623",
        "JQ20261004002,盗窃,2026-10-04 18:22,2026-10-04 17:45,杭州市西湖区蒋村街道,120.0837,30.2901",
        "JQ20261005001,抢夺,2026-10-05 12:33,2026-10-05 12:20,杭州市拱墅区祥符街道,120.1289,30.3265",
        "JQ20261005002,盗窃,2026-10-05 19:47,2026-10-05 19:10,杭州市上城区四季青街道,120.1934,30.2601",
    ]
    (HERE / "incidents_gbk.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))


def _pin_zip(data: bytes) -> bytes:
    """Rewrite a zip archive with fixed timestamps, so the bytes do not depend on the day."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            pinned = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = 0o644 << 16
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>2026-01-01T00:00:00Z\g<2>",
                    content,
                )
            dst.writestr(pinned, content)
    return out.getvalue()


def incidents_title_row() -> None:
    """A ledger with a merged title row above the header, as township staff make them."""
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = dt.datetime(2026, 1, 1)
    sheet = book.active
    assert sheet is not None
    sheet.title = "10月台账"
    sheet["A1"] = "转塘街道2026年10月案件台账"
    sheet["A1"].font = Font(bold=True, size=16)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.merge_cells("A1:F1")
    sheet.append(["编号", "案件类别", "发案时间", "案发地点", "经度", "纬度"])
    sheet.append(
        [
            "ZT202610001",
            "盗窃",
            dt.datetime(2026, 10, 3, 14, 20),
            "转塘街道龙坞村三组",
            120.0623,
            30.1752,
        ]
    )
    sheet.append(
        ["ZT202610002", "抢夺", dt.datetime(2026, 10, 9), "转塘街道美院南路", 120.0911, 30.1489]
    )
    sheet.append(
        ["ZT202610003", "盗窃", dt.datetime(2026, 10, 15, 22, 5), "转塘街道上城埭村", None, None]
    )
    sheet["C3"].number_format = "yyyy-mm-dd hh:mm"
    sheet["C4"].number_format = "yyyy-mm-dd"
    sheet["C5"].number_format = "yyyy-mm-dd hh:mm"
    buffer = io.BytesIO()
    book.save(buffer)
    (HERE / "incidents_title_row.xlsx").write_bytes(_pin_zip(buffer.getvalue()))


def _box(x0: float, y0: float, x1: float, y1: float) -> list[list[list[float]]]:
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def _grids() -> dict:
    """Four 综合 grids of one village, 2 x 2; grid 004 is a bow-tie."""
    xs, ys = (120.100, 120.105, 120.110), (30.200, 30.205, 30.210)
    cells = [  # numbered west -> east, then north -> south
        ("330106001001001", _box(xs[0], ys[1], xs[1], ys[2])),
        ("330106001001002", _box(xs[1], ys[1], xs[2], ys[2])),
        ("330106001001003", _box(xs[0], ys[0], xs[1], ys[1])),
        (
            "330106001001004",
            [[[xs[1], ys[0]], [xs[2], ys[1]], [xs[2], ys[0]], [xs[1], ys[1]], [xs[1], ys[0]]]],
        ),
    ]
    features = [
        {
            "type": "Feature",
            "properties": {
                "网格编码": code,
                "网格名称": f"第{i}网格",
                "类型": "综合",
                "户数": 180 + 20 * i,
                "人口": 520 + 61 * i,
            },
            "geometry": {"type": "Polygon", "coordinates": rings},
        }
        for i, (code, rings) in enumerate(cells, start=1)
    ]
    return {"type": "FeatureCollection", "features": features}


def grids_geojson() -> None:
    text = json.dumps(_grids(), ensure_ascii=False, indent=1)
    (HERE / "grids_self_intersecting.geojson").write_text(text + "\n", encoding="utf-8")
    cut = text.encode("utf-8")[: len(text.encode("utf-8")) * 3 // 5]
    (HERE / "truncated.geojson").write_bytes(cut)


CAMERAS = [  # id, name, kind, status, lon, lat
    ("330106000013200001", "文三路学院路口", "枪机", "online", 120.1350, 30.2786),
    ("330106000013200002", "古墩路紫荆花路口", "球机", "online", 120.0961, 30.2893),
    ("330106000013200003", "转塘龙坞村村口", "枪机", "offline", 120.0618, 30.1760),
    ("330106000013200004", "西溪路留下", "球机", "fault", 120.0590, 30.2457),
    ("330106000013200005", "美院南路公交站", "枪机", "online", 120.0907, 30.1495),
]


def cameras_no_prj() -> None:
    """A zipped point shapefile in lon/lat with no .prj: the CRS must be asked for."""
    frame = gpd.GeoDataFrame(
        {
            "id": [c[0] for c in CAMERAS],
            "name": [c[1] for c in CAMERAS],
            "kind": [c[2] for c in CAMERAS],
            "status": [c[3] for c in CAMERAS],
        },
        geometry=[Point(c[4], c[5]) for c in CAMERAS],
        crs=None,
    )
    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / "cameras.shp"
        with warnings.catch_warnings():  # "'crs' was not provided": that is the point
            warnings.simplefilter("ignore", UserWarning)
            pyogrio.write_dataframe(frame, shp, encoding="UTF-8")
        dbf = bytearray(shp.with_suffix(".dbf").read_bytes())
        dbf[1:4] = bytes([126, 1, 1])  # DBF "last update" date: 2026-01-01
        shp.with_suffix(".dbf").write_bytes(bytes(dbf))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for suffix in (".shp", ".shx", ".dbf", ".cpg"):
                archive.write(shp.with_suffix(suffix), f"cameras{suffix}")
        assert not shp.with_suffix(".prj").exists()
    (HERE / "cameras_no_prj.zip").write_bytes(_pin_zip(buffer.getvalue()))


def incidents_feet_no_crs() -> None:
    """SF robberies whose EPSG:2227 feet sit under 经度/纬度 headers, with no CRS anywhere."""
    sf = pyogrio.read_dataframe(SF_ROBBERY).drop_duplicates("IncidntNum").head(6)
    lines = [HEADER]
    for row in sf.itertuples():
        when = row.Date.strftime("%Y-%m-%d")
        place = str(row.Location).replace(",", " ")
        lines.append(
            f"{row.IncidntNum},{row.Category},{when},{place},{row.X_pr:.3f},{row.Y_pr:.3f}"
        )
    (HERE / "incidents_feet_no_crs.csv").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


def cameras_kml() -> None:
    placemarks = "\n".join(
        f"""    <Placemark>
      <name>{name}</name>
      <description>{kind} {status} {cid}</description>
      <Point><coordinates>{lon},{lat},0</coordinates></Point>
    </Placemark>"""
        for cid, name, kind, status, lon, lat in CAMERAS[:4]
    )
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
  <Document>
    <name>西湖区视频监控点位</name>
{placemarks}
  </Document>
</kml>
"""
    (HERE / "cameras.kml").write_text(text, encoding="utf-8")


def main() -> None:
    incidents_mixed()
    incidents_junk_times()
    incidents_gbk()
    incidents_title_row()
    grids_geojson()
    cameras_no_prj()
    incidents_feet_no_crs()
    cameras_kml()


if __name__ == "__main__":
    main()
