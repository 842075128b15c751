/* Incident points at street zoom (dashboard/incident_points.py).
   pingan_points.url is a clientside callback: it builds the URL of the layer
   map-incidents-points from the map's bounds and zoom and the map-filter store, with no round trip
   to the server when the map moves. The box is snapped outward to the tiles of block_zoom
   (the same arithmetic as dashboard.incident_points.snap), so small pans keep the URL and
   fetch nothing. Below min_zoom the URL is null: the layer is empty and the grids carry the
   counts. pingan_points.notice says under the filters when an answer is a random sample. */
(function () {
    function tileX(lon, z) { return (lon + 180) / 360 * Math.pow(2, z); }
    function tileY(lat, z) {
        const r = Math.max(-85.0511, Math.min(85.0511, lat)) * Math.PI / 180;
        return (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * Math.pow(2, z);
    }
    function lonOf(x, z) { return x / Math.pow(2, z) * 360 - 180; }
    function latOf(y, z) {
        const n = Math.PI * (1 - 2 * y / Math.pow(2, z));
        return Math.atan(Math.sinh(n)) * 180 / Math.PI;
    }
    function fixed(v) { return (Math.round(v * 1e6) / 1e6).toString(); }
    function snap(bounds, z) {  // bounds: [[south, west], [north, east]]
        const eps = 1e-4;
        const x0 = Math.floor(tileX(bounds[0][1], z) + eps);
        const x1 = Math.max(Math.ceil(tileX(bounds[1][1], z) - eps), x0 + 1);
        const y0 = Math.floor(tileY(bounds[1][0], z) + eps);
        const y1 = Math.max(Math.ceil(tileY(bounds[0][0], z) - eps), y0 + 1);
        return [lonOf(x0, z), latOf(y1, z), lonOf(x1, z), latOf(y0, z)].map(fixed).join(",");
    }
    /* The map-filter store (IncidentFilter.to_json) as the route's query string. */
    function query(flt) {
        const parts = [];
        const add = function (k, v) { parts.push(k + "=" + encodeURIComponent(v)); };
        if (!flt) { return ""; }
        if (flt.area) { add("area", flt.area); }
        if (flt.start) { add("start", flt.start); }
        if (flt.end) { add("end", flt.end); }
        (flt.categories || []).forEach(function (c) { add("category", c); });
        if (flt.hours) { add("hours", flt.hours[0] + "," + flt.hours[1]); }
        return parts.length ? "&" + parts.join("&") : "";
    }
    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        pingan_points: {
            url: function (bounds, zoom, flt, shown, hideout) {
                const h = hideout || {};
                if (!bounds || zoom === undefined || zoom === null || zoom < h.min_zoom) { return null; }
                if (Array.isArray(shown) && shown.indexOf("points") < 0) { return null; }
                return h.route + "?bbox=" + snap(bounds, h.block_zoom) + query(flt);
            },
            /* The notice under the filters when the answer is a random sample of the view's
               incidents (10% or 1%): the share, the estimated total and the points drawn, so
               that the numbers on clusters (sampled points) are not taken for incident counts.
               The route names them in its Server-Timing header ("sample", "total", "count",
               and "truncated" when even the sample was cut), which the browser's resource timing
               exposes: the layer's own request is read, no second one is made. */
            notice: function (url, lang, hideout) {
                if (!url) { return ""; }
                const h = hideout || {};
                const key = lang === "en" ? "en" : "zh";
                const template = (h.sampled || {})[key] || "";
                const cut = (h.cut || {})[key] || "";
                const name = new URL(url, window.location.href).href;
                const number = function (v) {
                    return Number(v).toLocaleString(key === "en" ? "en-US" : "zh-CN");
                };
                const rounded = function (v) {  // an estimate: two significant digits
                    const n = Number(v);
                    if (!(n >= 100)) { return n; }
                    const unit = Math.pow(10, Math.floor(Math.log10(n)) - 1);
                    return Math.round(n / unit) * unit;
                };
                return new Promise(function (resolve) {
                    const observer = new PerformanceObserver(function (list) {
                        const mine = list.getEntries().filter(function (e) { return e.name === name; });
                        if (!mine.length) { return; }
                        observer.disconnect();
                        const timing = mine[mine.length - 1].serverTiming || [];
                        const value = function (n) {
                            const entry = timing.find(function (t) { return t.name === n; });
                            return entry ? entry.description : null;
                        };
                        const share = value("sample");
                        if (share === null) { resolve(""); return; }
                        const text = template
                            .replace("{share}", Math.round(Number(share) * 100) + "%")
                            .replace("{total}", number(rounded(value("total"))))
                            .replace("{shown}", number(value("count") || "?"));
                        resolve(text + (timing.some(function (t) { return t.name === "truncated"; }) ? cut : ""));
                    });
                    observer.observe({type: "resource", buffered: true});
                    setTimeout(function () { observer.disconnect(); resolve(""); }, 60000);
                });
            }
        }
    });
    window.pingan = Object.assign({}, window.pingan, {
        points: {
            /* A single incident: a small dot (cheaper to draw than a marker icon). */
            point: function (feature, latlng, context) {
                return L.circleMarker(latlng, {
                    pane: context.hideout.pane, radius: 5, color: "#ffffff", weight: 1,
                    fillColor: "#b2182b", fillOpacity: 0.9
                });
            }
        }
    });
})();
