/* Style and point functions of the map page, referenced from Python through
   dash_extensions.javascript.Namespace("pingan", "map"). Everything they need arrives in the
   layer's `hideout`, so a filter change sends only counts, never geometry again. */
window.pingan = Object.assign({}, window.pingan, {
    map: {
        /* A layer is shown unless its hideout says show: false. */
        visible: function (feature, context) {
            return context.hideout.show !== false;
        },
        /* Grids: outline when the grid layer is on, fill by incident count when the incident
           layer is on; counts come as {code: n} with class lower bounds and colours. */
        gridVisible: function (feature, context) {
            const h = context.hideout;
            return h.outline !== false || h.fill !== false;
        },
        gridStyle: function (feature, context) {
            const h = context.hideout;
            const n = (h.counts || {})[feature.properties.code] || 0;
            const classes = h.classes || [0];
            let colour = h.colours[0];
            for (let i = 0; i < classes.length; ++i) {
                if (n >= classes[i]) { colour = h.colours[i]; }
            }
            const special = feature.properties.kind === "专属";
            if (h.selected && h.selected === feature.properties.code) {
                return {color: "#0868ac", weight: 3.5, dashArray: null, fillColor: colour,
                        fillOpacity: h.fill === false ? 0.1 : 0.75};
            }
            return {
                color: special ? "#6a3d9a" : "#4d4d4d",
                weight: h.outline === false ? 0 : (special ? 2 : 0.8),
                dashArray: special ? "4 3" : null,
                fillColor: colour,
                fillOpacity: h.fill === false ? 0.0 : 0.7
            };
        },
        /* The clicked camera's field of view (a wedge, or a circle when the heading is unknown). */
        viewStyle: function (feature, context) {
            const circle = feature.properties.shape === "circle";
            return {color: "#08519c", weight: 1.5, dashArray: circle ? "5 4" : null,
                    fillColor: "#4292c6", fillOpacity: 0.3, className: "fov-view"};
        },
        /* The corner read-out: the mouse position, and the last click. Longitude, latitude
           in degrees, 6 decimals (about 0.1 m). */
        showPosition: function (e) {
            const box = document.getElementById("map-coords-mouse");
            if (box && e.latlng) { box.textContent = window.pingan.map.formatLatLng(e.latlng); }
        },
        pinPosition: function (e) {
            const box = document.getElementById("map-coords-click");
            if (box && e.latlng) {
                box.textContent = window.pingan.map.formatLatLng(e.latlng);
                box.dataset.lon = e.latlng.lng.toFixed(6);
                box.dataset.lat = e.latlng.lat.toFixed(6);
            }
        },
        formatLatLng: function (latlng) {
            const lon = latlng.lng, lat = latlng.lat;
            return Math.abs(lon).toFixed(6) + "°" + (lon < 0 ? "W" : "E") + "  " +
                   Math.abs(lat).toFixed(6) + "°" + (lat < 0 ? "S" : "N");
        },
        boundaryStyle: function (feature, context) {
            const township = feature.properties.level === "township";
            const county = feature.properties.level === "county";
            return {
                color: county ? "#000000" : (township ? "#333333" : "#777777"),
                weight: county ? 3 : (township ? 2.5 : 1.2),
                dashArray: township || county ? null : "6 4",
                fill: false
            };
        },
        cameraPoint: function (feature, latlng, context) {
            const colours = context.hideout.colours || {};
            return L.circleMarker(latlng, {
                pane: context.hideout.pane, radius: 5, color: "#ffffff", weight: 1.5, fillOpacity: 0.95,
                fillColor: colours[feature.properties.status] || "#333333"
            });
        },
        placePoint: function (feature, latlng, context) {
            return L.circleMarker(latlng, {
                pane: context.hideout.pane, radius: 7, color: "#08519c", weight: 2, fillColor: "#9ecae1", fillOpacity: 0.9
            });
        },
        placeStyle: function (feature, context) {
            return {color: "#08519c", weight: 2, fillColor: "#9ecae1", fillOpacity: 0.4};
        }
    }
});

/* Clientside callbacks of the map page (dash_clientside.pingan_map). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pingan_map: {
        /* The layer order (names, top first) gives each pane map-<name> its z-index: the
           bottom layer 410, then +10 per layer, as dashboard.map_layers.pane_z does. */
        orderPanes: function (order) {
            const names = (order || []).slice().reverse();
            names.forEach(function (name, i) {
                document.querySelectorAll(".leaflet-map-" + name + "-pane").forEach(function (pane) {
                    pane.style.zIndex = String(410 + 10 * i);
                });
            });
            return order;
        }
    }
});
