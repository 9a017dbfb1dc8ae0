// The public map: Leaflet (shipped with NAP) fed by NAP's own bbox API. No other site is
// contacted unless the deployment configured a tile server (data-tiles).
(function () {
  "use strict";
  var element = document.getElementById("map");
  var statusLine = document.getElementById("map-status");
  var list = document.getElementById("map-list");
  if (!element || !window.L) { return; }

  // Colours of the best EVSE status of a location, distinguishable for common colour-vision deficiencies.
  var COLOURS = { AVAILABLE: "#1a7f37", CHARGING: "#0b4fa8", RESERVED: "#6f42c1", BLOCKED: "#8a5300" };
  var LISTED = 200; // names in the text list; the map itself shows every pin the API returns

  var b = element.dataset.bounds.split(",").map(Number); // min_lat, max_lat, min_lon, max_lon
  var map = L.map(element, { keyboard: true });
  // SVG pins can be focused and clicked one by one; past a thousand, one canvas draws faster.
  var canvas = L.canvas({ padding: 0.5 });
  var CANVAS_FROM = 1000;
  map.fitBounds([[b[0], b[2]], [b[1], b[3]]], { padding: [10, 10] });
  if (element.dataset.tiles) {
    L.tileLayer(element.dataset.tiles, { attribution: element.dataset.attribution, maxZoom: 19 }).addTo(map);
  }
  var pins = L.layerGroup().addTo(map);
  var pending = null;
  var generation = 0;

  function clamp(value, low, high) { return Math.min(high, Math.max(low, value)); }

  function bboxParameter() {
    var view = map.getBounds();
    return [clamp(view.getWest(), -180, 180), clamp(view.getSouth(), -90, 90),
            clamp(view.getEast(), -180, 180), clamp(view.getNorth(), -90, 90)]
      .map(function (n) { return n.toFixed(5); }).join(",");
  }

  // Built with text nodes only: names come from CPOs and must never be read as HTML.
  function describe(p) {
    var parts = [p.name || p.location_id];
    var where = [p.address, p.city].filter(Boolean).join(", ");
    if (where) { parts.push(where); }
    parts.push(p.available_evses + " of " + p.evses + " charging points available");
    if (p.max_power_kw) { parts.push("up to " + p.max_power_kw + " kW"); }
    return parts;
  }

  function popup(p) {
    var box = document.createElement("div");
    describe(p).forEach(function (line, i) {
      var node = document.createElement(i === 0 ? "strong" : "div");
      node.textContent = line;
      box.appendChild(node);
    });
    return box;
  }

  function show(collection) {
    pins.clearLayers();
    while (list.firstChild) { list.removeChild(list.firstChild); }
    var many = collection.features.length >= CANVAS_FROM;
    collection.features.forEach(function (feature, index) {
      var p = feature.properties;
      var c = feature.geometry.coordinates;
      L.circleMarker([c[1], c[0]], {
        radius: 7, weight: 2, color: "#1b1b1b", fillOpacity: 0.9,
        fillColor: COLOURS[p.status] || "#6b6b6b", renderer: many ? canvas : undefined
      }).bindPopup(popup(p)).addTo(pins);
      if (index < LISTED) {
        var item = document.createElement("li");
        item.textContent = describe(p).join(" · ");
        list.appendChild(item);
      }
    });
    var count = collection.features.length;
    statusLine.textContent = count + (count === 1 ? " location" : " locations") + " in view" +
      (collection.truncated ? " (zoom in to see all)" : "") +
      (count > LISTED ? "; the list shows the first " + LISTED : "") + ".";
    element.dataset.loaded = String(count);
  }

  function load() {
    var mine = ++generation;
    statusLine.textContent = "Loading locations…";
    fetch(element.dataset.api + "?bbox=" + bboxParameter(), { headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (collection) { if (mine === generation) { show(collection); } })
      .catch(function (error) {
        if (mine === generation) { statusLine.textContent = "The locations could not be loaded (" + error.message + ")."; }
      });
  }

  map.on("moveend", function () {
    clearTimeout(pending);
    pending = setTimeout(load, 250);
  });
  load();
})();
