// The public map: Leaflet (shipped with NAP) fed by NAP's own map API, over country borders
// from Natural Earth (world-atlas, shipped with NAP). No other site is contacted unless the
// deployment configured a tile server (data-tiles). Below zoom 13 the server sends clusters
// (exporters/map_api.py); the filters and the view live in the address's #fragment.
(function () {
  "use strict";
  var element = document.getElementById("map");
  var statusLine = document.getElementById("map-status");
  var list = document.getElementById("map-list");
  var form = document.getElementById("map-filters");
  var panel = document.getElementById("map-panel");
  var panelTitle = document.getElementById("map-panel-title");
  var panelBody = document.getElementById("map-panel-body");
  var layout = document.getElementById("map-layout");
  if (!element || !window.L) { return; }

  // Colours of the best EVSE status of a location, distinguishable for common colour-vision
  // deficiencies; the legend on the page (map.html) names them.
  var COLOURS = { AVAILABLE: "#1a7f37", CHARGING: "#0b4fa8", RESERVED: "#6f42c1", BLOCKED: "#8a5300" };
  var OTHER = "#6b6b6b";
  var LISTED = 200; // entries in the text list; the map itself shows everything the API returns
  var FILTERS = ["power", "connector", "operator", "available", "card"];
  var CONNECTORS = {
    IEC_62196_T2: "Type 2", IEC_62196_T2_COMBO: "CCS (Combo 2)", CHADEMO: "CHAdeMO", DOMESTIC_F: "Schuko (type F)",
    IEC_62196_T1: "Type 1", IEC_62196_T1_COMBO: "CCS (Combo 1)", SAE_J3400: "NACS (SAE J3400)", MCS: "MCS (trucks)",
    TESLA_S: "Tesla", IEC_62196_T3C: "Type 3C", GBT_DC: "GB/T DC", GBT_AC: "GB/T AC"
  };
  var STATUSES = {
    AVAILABLE: "available", CHARGING: "in use", RESERVED: "reserved", BLOCKED: "blocked", PLANNED: "planned",
    INOPERATIVE: "not in operation", OUTOFORDER: "out of order", UNKNOWN: "status unknown"
  };

  // -- state: the view and the filters, read from and written to the #fragment ----------------

  function readState() {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    var state = { filters: {} };
    FILTERS.forEach(function (name) { if (params.get(name)) { state.filters[name] = params.get(name); } });
    var view = (params.get("map") || "").split("/").map(Number);
    if (view.length === 3 && view.every(function (n) { return isFinite(n); })) { state.view = view; }
    return state;
  }

  function writeState() {
    var params = new URLSearchParams();
    var centre = map.getCenter();
    params.set("map", [map.getZoom(), centre.lat.toFixed(4), centre.lng.toFixed(4)].join("/"));
    FILTERS.forEach(function (name) { if (state.filters[name]) { params.set(name, state.filters[name]); } });
    history.replaceState(null, "", "#" + params.toString());
  }

  var state = readState();

  // -- the map and its base layer -------------------------------------------------------------

  var map = L.map(element, { keyboard: true, minZoom: 2, maxZoom: 19, worldCopyJump: true });
  if (state.view) {
    map.setView([state.view[1], state.view[2]], state.view[0]);
  } else {
    var b = element.dataset.bounds.split(",").map(Number); // min_lat, max_lat, min_lon, max_lon
    map.fitBounds([[b[0], b[2]], [b[1], b[3]]], { padding: [10, 10] });
  }
  if (element.dataset.tiles) {
    L.tileLayer(element.dataset.tiles, { attribution: element.dataset.attribution, maxZoom: 19 }).addTo(map);
  } else {
    // Country shapes in their own pane under the points, drawn once as SVG, not clickable.
    map.createPane("basemap").style.zIndex = 250;
    fetch(element.dataset.countries)
      .then(function (response) { return response.json(); })
      .then(function (topology) {
        L.geoJSON(topojson.feature(topology, topology.objects.countries), {
          pane: "basemap", renderer: L.svg({ pane: "basemap", padding: 0.5 }), interactive: false,
          style: { className: "map-country", color: "#8a8f94", weight: 0.8, fillColor: "#f6f4ee", fillOpacity: 1 }
        }).addTo(map);
        element.dataset.basemap = "drawn";
      })
      .catch(function () { element.dataset.basemap = "failed"; });
    map.attributionControl.addAttribution("Borders: Natural Earth");
  }
  var features = L.layerGroup().addTo(map);
  var pending = null;
  var generation = 0;

  function clamp(value, low, high) { return Math.min(high, Math.max(low, value)); }

  function query() {
    var view = map.getBounds();
    var params = new URLSearchParams();
    params.set("bbox", [clamp(view.getWest(), -180, 180), clamp(view.getSouth(), -90, 90),
      clamp(view.getEast(), -180, 180), clamp(view.getNorth(), -90, 90)]
      .map(function (n) { return n.toFixed(5); }).join(","));
    params.set("zoom", String(Math.round(map.getZoom())));
    FILTERS.forEach(function (name) { if (state.filters[name]) { params.set(name, state.filters[name]); } });
    return params.toString();
  }

  // -- text: built with text nodes only; names come from CPOs and must never be read as HTML ----

  function node(tag, text, className) {
    var made = document.createElement(tag);
    if (text !== undefined && text !== null) { made.textContent = text; }
    if (className) { made.className = className; }
    return made;
  }

  function connectorName(standard) { return CONNECTORS[standard] || standard.replace(/_/g, " "); }

  function describe(p) {
    var parts = [p.name || p.location_id];
    var where = [p.address, p.city].filter(Boolean).join(", ");
    if (where) { parts.push(where); }
    parts.push(p.available_evses + " of " + p.evses + " charging points available");
    if (p.max_power_kw) { parts.push("up to " + p.max_power_kw + " kW"); }
    return parts;
  }

  function describeCluster(p) {
    return p.locations + (p.locations === 1 ? " location" : " locations") + ": " + p.available_evses + " of " +
      p.evses + " charging points available" + (p.max_power_kw ? ", up to " + p.max_power_kw + " kW" : "");
  }

  function when(iso) {
    if (!iso) { return ""; }
    var date = new Date(iso);
    return isNaN(date) ? iso : date.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
  }

  function link(href, text) {
    var a = node("a", text);
    a.href = href;
    return a;
  }

  // The details of one location, short in a pop-up, whole in the side panel.
  function details(d, whole) {
    var box = node("div", null, "map-details");
    if (d.operator) { box.appendChild(node("p", "Operator: " + d.operator, "map-operator")); }
    if (whole) {
      var where = [d.address, [d.postal_code, d.city].filter(Boolean).join(" ")].filter(Boolean).join(", ");
      if (where) { box.appendChild(node("p", where)); }
      if (d.opening_hours) { box.appendChild(node("p", "Open: " + d.opening_hours)); }
      if (d.accessibility.length) {
        box.appendChild(node("h3", "Access"));
        var access = node("ul");
        d.accessibility.forEach(function (line) { access.appendChild(node("li", line)); });
        box.appendChild(access);
      }
      box.appendChild(node("h3", "Charging points"));
    }
    var evses = node("ul", null, "map-evses");
    d.evses.forEach(function (evse) {
      var item = node("li");
      var head = (evse.evse_id || evse.uid) + ": " + (STATUSES[evse.status] || evse.status);
      if (whole && evse.status_since) { head += " since " + when(evse.status_since); }
      item.appendChild(node("span", head, "map-evse-status"));
      var plugs = evse.connectors.map(function (c) {
        return connectorName(c.standard) + (c.power_kw ? " " + c.power_kw + " kW" : "");
      }).join(", ");
      item.appendChild(node("span", plugs, "map-connectors"));
      if (evse.ad_hoc_price) {
        item.appendChild(node("span", "Price without a contract: " + evse.ad_hoc_price +
          (evse.ad_hoc_price_tax ? " (" + evse.ad_hoc_price_tax + ")" : ""), "map-price"));
      }
      if (whole && evse.card_payment) { item.appendChild(node("span", "Pay by card at the charger")); }
      evses.appendChild(item);
    });
    box.appendChild(evses);
    var links = node("p", null, "map-links");
    links.appendChild(link(d.ocpi_url, "OCPI object"));
    links.appendChild(document.createTextNode(" · "));
    links.appendChild(link(d.lookup_url, "Where did my charger go?"));
    box.appendChild(links);
    return box;
  }

  var detailsUrl = element.dataset.details.replace(/\/_\/_\/_$/, "");
  function fetchDetails(p) {
    return fetch([detailsUrl, p.country_code, p.party_id, encodeURIComponent(p.location_id)].join("/"))
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      });
  }

  function openPanel(p, returnFocus) {
    panelTitle.textContent = p.name || p.location_id;
    while (panelBody.firstChild) { panelBody.removeChild(panelBody.firstChild); }
    panelBody.appendChild(node("p", "Loading…"));
    panel.hidden = false;
    layout.classList.add("with-panel");
    map.invalidateSize();
    panel.returnFocus = returnFocus;
    panelTitle.focus();
    fetchDetails(p).then(function (d) {
      while (panelBody.firstChild) { panelBody.removeChild(panelBody.firstChild); }
      panelBody.appendChild(details(d, true));
    }).catch(function (error) {
      panelBody.firstChild.textContent = "The details could not be loaded (" + error.message + ").";
    });
  }

  document.getElementById("map-panel-close").addEventListener("click", function () {
    panel.hidden = true;
    layout.classList.remove("with-panel");
    map.invalidateSize();
    if (panel.returnFocus && document.body.contains(panel.returnFocus)) { panel.returnFocus.focus(); }
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { document.getElementById("map-panel-close").click(); }
  });

  function popupFor(p, marker) {
    var box = node("div");
    describe(p).forEach(function (line, i) { box.appendChild(node(i === 0 ? "strong" : "div", line)); });
    var more = node("div", "Loading details…", "map-popup-more");
    box.appendChild(more);
    var button = node("button", "All details", "secondary map-more");
    button.type = "button";
    button.addEventListener("click", function () { openPanel(p, marker.getElement()); });
    box.appendChild(button);
    marker.on("popupopen", function () {
      if (more.dataset.loaded) { return; }
      fetchDetails(p).then(function (d) {
        more.dataset.loaded = "1";
        while (more.firstChild) { more.removeChild(more.firstChild); }
        more.appendChild(details(d, false));
        marker.getPopup().update();
      }).catch(function (error) { more.textContent = "Details could not be loaded (" + error.message + ")."; });
    });
    return box;
  }

  // -- drawing ----------------------------------------------------------------------------------

  // Something the keyboard reaches and Enter or Space activates, named for screen readers.
  function focusable(target, label, activate) {
    target.setAttribute("tabindex", "0");
    target.setAttribute("role", "button");
    target.setAttribute("aria-label", label);
    target.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); activate(); }
    });
  }

  function band(p) {
    if (p.evses && p.available_evses * 2 >= p.evses) { return "most"; }
    return p.available_evses > 0 ? "some" : "none";
  }

  function cellBounds(p, size) {
    var south = p.cell[0] * size - 90, west = p.cell[1] * size - 180;
    return L.latLngBounds([south, west], [south + size, west + size]);
  }

  function drawCluster(feature, size) {
    var p = feature.properties;
    var c = feature.geometry.coordinates;
    var digits = String(p.locations).length;
    var px = 30 + 6 * Math.min(digits, 4);
    var marker = L.marker([c[1], c[0]], {
      keyboard: true,
      icon: L.divIcon({ className: "map-cluster map-cluster-" + band(p), iconSize: [px, px],
        html: "<span>" + Number(p.locations) + "</span>" })
    }).addTo(features);
    var zoomIn = function () { map.fitBounds(cellBounds(p, size), { maxZoom: map.getZoom() + 3 }); };
    marker.on("click", zoomIn);
    focusable(marker.getElement(), "Group of " + describeCluster(p) + ". Zoom in.", zoomIn);
    return zoomIn;
  }

  function locationKey(p) { return [p.country_code, p.party_id, p.location_id].join("/"); }

  function drawPin(feature) {
    var p = feature.properties;
    var c = feature.geometry.coordinates;
    var marker = L.circleMarker([c[1], c[0]], {
      radius: 8, weight: 2, color: "#1b1b1b", fillOpacity: 0.95, className: "map-pin",
      fillColor: COLOURS[p.status] || OTHER
    }).addTo(features);
    // No taller than the map with its pin: a taller pop-up's auto-pan would push the pin out of
    // view and so out of the next answer, and the redraw would close it after all.
    marker.bindPopup(popupFor(p, marker), {
      maxWidth: 320, maxHeight: Math.max(150, map.getSize().y - 120), autoPanPadding: [20, 20]
    });
    marker.locationKey = locationKey(p);
    var open = function () { marker.openPopup(); };
    focusable(marker.getElement(), describe(p).join(", "), open);
    return open;
  }

  function listEntry(text, action) {
    var item = node("li");
    var button = node("button", text, "link map-list-entry");
    button.type = "button";
    button.addEventListener("click", action);
    item.appendChild(button);
    return item;
  }

  function show(collection) {
    var clustered = collection.clustered === true;
    // A pop-up opened near the edge makes Leaflet pan the map to fit it (auto-pan); that pan
    // ends in moveend like a user's and brings a redraw, which closed the pop-up under the
    // user's pointer before its "All details" could be clicked (issue #20). So a redraw keeps
    // the pin whose pop-up is open, with its pop-up, while the answer still has its location.
    var open = null;
    features.eachLayer(function (layer) { if (layer.isPopupOpen && layer.isPopupOpen()) { open = layer; } });
    var keep = !clustered && open && collection.features.some(function (f) {
      return locationKey(f.properties) === open.locationKey;
    }) ? open : null;
    features.getLayers().forEach(function (layer) { if (layer !== keep) { features.removeLayer(layer); } });
    while (list.firstChild) { list.removeChild(list.firstChild); }
    var count = collection.features.length;
    collection.features.forEach(function (feature, index) {
      var p = feature.properties;
      if (clustered) {
        var zoomIn = drawCluster(feature, collection.cell_degrees);
        if (index < LISTED) {
          list.appendChild(listEntry("Group of " + describeCluster(p) + " (zoom in)", zoomIn));
        }
      } else {
        if (!keep || locationKey(p) !== keep.locationKey) { drawPin(feature); }
        if (index < LISTED) {
          list.appendChild(listEntry(describe(p).join(" · "), function (event) { openPanel(p, event.currentTarget); }));
        }
      }
    });
    if (clustered) {
      var locations = collection.features.reduce(function (sum, f) { return sum + f.properties.locations; }, 0);
      statusLine.textContent = locations + (locations === 1 ? " location" : " locations") + " in view in " + count +
        (count === 1 ? " group" : " groups") + "; zoom in or choose a group to see them one by one" +
        (collection.truncated ? " (zoom in to see all)" : "") + ".";
      element.dataset.loaded = String(locations);
    } else {
      statusLine.textContent = count + (count === 1 ? " location" : " locations") + " in view" +
        (collection.truncated ? " (zoom in to see all)" : "") +
        (count > LISTED ? "; the list shows the first " + LISTED : "") + ".";
      element.dataset.loaded = String(count);
    }
    element.dataset.mode = clustered ? "clusters" : "points";
    element.dataset.shown = String(generation); // how many answers were drawn: tests wait on it
  }

  function load() {
    var mine = ++generation;
    statusLine.textContent = "Loading locations…";
    delete element.dataset.loaded;
    writeState();
    fetch(element.dataset.api + "?" + query(), { headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) {
          return response.json().then(function (body) { throw new Error(body.error || "HTTP " + response.status); });
        }
        return response.json();
      })
      .then(function (collection) { if (mine === generation) { show(collection); } })
      .catch(function (error) {
        if (mine === generation) { statusLine.textContent = "The locations could not be loaded (" + error.message + ")."; }
      });
  }

  // -- the filter form ---------------------------------------------------------------------------

  function option(select, value, text) {
    if (Array.prototype.some.call(select.options, function (o) { return o.value === value; })) { return; }
    var made = node("option", text);
    made.value = value;
    select.appendChild(made);
  }

  function fillForm(facets) {
    var powers = document.getElementById("map-power-options");
    var chosen = (state.filters.power || "").split(",");
    facets.power_classes.forEach(function (pair) {
      var label = node("label");
      var box = node("input");
      box.type = "checkbox";
      box.name = "power";
      box.value = pair[0];
      box.checked = chosen.indexOf(pair[0]) >= 0;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + pair[1]));
      powers.appendChild(label);
    });
    var connector = document.getElementById("map-connector");
    facets.connector_types.forEach(function (standard) { option(connector, standard, connectorName(standard)); });
    var operator = document.getElementById("map-operator");
    facets.operators.forEach(function (name) { option(operator, name, name); });
    // A shared link may name what this server does not list (any more): keep it chosen.
    if (state.filters.connector) { option(connector, state.filters.connector, connectorName(state.filters.connector)); }
    if (state.filters.operator) { option(operator, state.filters.operator, state.filters.operator); }
    connector.value = state.filters.connector || "";
    operator.value = state.filters.operator || "";
  }

  function readForm() {
    var data = new FormData(form);
    state.filters = {};
    var power = data.getAll("power").join(",");
    if (power) { state.filters.power = power; }
    ["connector", "operator", "available", "card"].forEach(function (name) {
      if (data.get(name)) { state.filters[name] = data.get(name); }
    });
  }

  // On a phone the filters would push the map below the fold: folded unless one is set.
  if (window.matchMedia("(max-width: 40rem)").matches && !Object.keys(state.filters).length) {
    document.getElementById("map-filter-box").open = false;
  }
  document.getElementById("map-available").checked = state.filters.available === "1";
  document.getElementById("map-card").checked = state.filters.card === "1";
  form.addEventListener("change", function () { readForm(); load(); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.addEventListener("reset", function () { setTimeout(function () { readForm(); load(); }, 0); });
  fetch(element.dataset.facets).then(function (response) { return response.json(); }).then(fillForm)
    .catch(function () { statusLine.textContent = "The filter choices could not be loaded."; });

  map.on("moveend", function () {
    clearTimeout(pending);
    pending = setTimeout(load, 250);
  });
  load();
})();
