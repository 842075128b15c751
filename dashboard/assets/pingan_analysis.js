/* Style and point functions of the analysis pages (总览, 热点, 重点地区) and of the key-area
   layer of the main map, referenced from Python through
   dash_extensions.javascript.Namespace("pingan", "analysis"). What varies arrives in the
   layer's `hideout` or in the feature's properties. */
window.pingan = Object.assign({}, window.pingan, {
    analysis: {
        /* Risk grades: fill by grade (hideout.colours), the clicked unit outlined. */
        gradeStyle: function (feature, context) {
            const h = context.hideout || {};
            const p = feature.properties;
            const colour = (h.colours || {})[p.grade] || "#cccccc";
            const township = p.level === "township";
            if (h.selected && h.selected === p.code) {
                return {color: "#111111", weight: 3.5, fillColor: colour, fillOpacity: 0.85};
            }
            return {color: township ? "#333333" : "#ffffff", weight: township ? 1.6 : 0.9,
                    fillColor: colour, fillOpacity: 0.78};
        },
        /* Hot-spot cells: the colour is computed in Python (Gi_Bin or emerging category). */
        cellStyle: function (feature, context) {
            const h = context.hideout || {};
            const bin = feature.properties.bin || 0;
            const pattern = feature.properties.pattern;
            const pale = h.kind === "emerging" ? (!pattern || pattern === "no_pattern") : bin === 0;
            return {color: pale ? "#d8d4c8" : "#6b6b6b", weight: pale ? 0.4 : 0.6,
                    fillColor: feature.properties.colour, fillOpacity: pale ? 0.35 : 0.82};
        },
        /* Cluster polygons: a dark dashed outline over the cells. */
        clusterStyle: function (feature, context) {
            return {color: "#1b1b1b", weight: 2, dashArray: "5 3", fillColor: "#000000",
                    fillOpacity: 0.05};
        },
        /* Key areas: outlined by status (hideout.colours); overdue areas red and thick. */
        keyAreaStyle: function (feature, context) {
            const h = context.hideout || {};
            const p = feature.properties;
            const colour = p.overdue ? "#cb181d" : ((h.colours || {})[p.status] || "#6a51a3");
            const selected = h.selected !== undefined && h.selected !== null && h.selected === p.id;
            return {color: colour, weight: selected ? 4 : (p.overdue ? 3 : 2),
                    dashArray: p.status === "found" ? "6 4" : null,
                    fillColor: colour, fillOpacity: selected ? 0.25 : 0.12};
        },
        keyAreaVisible: function (feature, context) {
            return (context.hideout || {}).show !== false;
        },
        /* Evidence incidents: small dark-red dots, in the pane named by hideout.pane (a
           marker made here does not inherit the layer's pane). */
        incidentPoint: function (feature, latlng, context) {
            return L.circleMarker(latlng, {pane: (context.hideout || {}).pane, radius: 3.5,
                                           color: "#67000d", weight: 0.8,
                                           fillColor: "#ef3b2c", fillOpacity: 0.85});
        },
        placePoint: function (feature, latlng, context) {
            return L.circleMarker(latlng, {pane: (context.hideout || {}).pane, radius: 8,
                                           color: "#08519c", weight: 2.5,
                                           fillColor: "#9ecae1", fillOpacity: 0.95});
        }
    }
});
