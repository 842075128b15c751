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
            return {
                color: special ? "#6a3d9a" : "#2b2b2b",
                weight: h.outline === false ? 0 : (special ? 2 : 1),
                dashArray: special ? "4 3" : null,
                fillColor: colour,
                fillOpacity: h.fill === false ? 0.0 : 0.65
            };
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
