// The staff's world map: areas, flags with their territories and the online players
// over the offline base map. Areas and flags load for the view box when the view
// stops moving; players come pushed by the staff socket for the same box.
(function () {
  "use strict";
  const element = document.getElementById("world-map");
  const data = element.dataset;
  const status = document.getElementById("world-map-status");
  const popupElement = document.getElementById("world-map-popup");
  const csrfToken = document.querySelector("[name=csrfmiddlewaretoken]").value;
  const geojson = new ol.format.GeoJSON({ featureProjection: "EPSG:3857" });
  // Territories are polygons: drawn only when the view is this close (metres per pixel).
  const TERRITORY_RESOLUTION = 40;

  const AREA_COLOURS = {
    safe: [46, 160, 67], city: [130, 80, 223], wilderness: [154, 103, 0],
    dungeon: [207, 34, 46], event: [9, 105, 218],
  };  // prettier-ignore
  const FLAG_TYPES = { normal: 1, system: 2, "roc-shrine": 3, "guard-tower": 4 };

  // WebGL where a graphics card draws it; a software WebGL (no GPU: SwiftShader,
  // llvmpipe) is slower than the canvas. `?renderer=webgl` or `?renderer=canvas`
  // chooses (to compare the two).
  function hardwareWebgl() {
    try {
      const gl = document.createElement("canvas").getContext("webgl");
      if (!gl) return false;
      const info = gl.getExtension("WEBGL_debug_renderer_info");
      const renderer = info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : "";
      return !/swiftshader|llvmpipe|software/i.test(renderer);
    } catch (error) {
      return false;
    }
  }
  const chosen = new URLSearchParams(location.search).get("renderer");
  const webgl = chosen ? chosen === "webgl" : hardwareWebgl();

  // Points layers: WebGL (thousands of points stay smooth), else the canvas
  // with the same colours.
  function pointsLayer(source, webglStyle, canvasStyle) {
    if (webgl) return new ol.layer.WebGLPoints({ source: source, style: webglStyle });
    // Drawn as an image and reused while the view moves; redrawn when the view
    // settles or the points change (at most twice a second for players).
    return new ol.layer.VectorImage({ source: source, style: canvasStyle, imageRatio: 1.2 });
  }

  // An area smaller than a few pixels at this zoom shows as a dot of its colour.
  function areaStyle(feature, resolution) {
    const rgb = AREA_COLOURS[feature.get("type")] || [90, 90, 90];
    const active = feature.get("isActive");
    const extent = feature.getGeometry().getExtent();
    if (Math.max(ol.extent.getWidth(extent), ol.extent.getHeight(extent)) / resolution < 8) {
      return new ol.style.Style({
        geometry: new ol.geom.Point(ol.extent.getCenter(extent)),
        image: new ol.style.Circle({
          radius: 4,
          fill: new ol.style.Fill({ color: "rgba(" + rgb.join(",") + ",0.6)" }),
          stroke: new ol.style.Stroke({ color: "rgb(" + rgb.join(",") + ")", width: 1 }),
        }),
      });
    }
    return new ol.style.Style({
      fill: new ol.style.Fill({ color: "rgba(" + rgb.join(",") + "," + (active ? 0.25 : 0.08) + ")" }),
      stroke: new ol.style.Stroke({
        color: "rgb(" + rgb.join(",") + ")", width: 2, lineDash: active ? undefined : [6, 4],
      }),
      text: resolution < 2000 ? new ol.style.Text({
        text: feature.get("name"), font: "bold 12px sans-serif", overflow: true,
        fill: new ol.style.Fill({ color: "#222" }),
        stroke: new ol.style.Stroke({ color: "#fff", width: 3 }),
      }) : undefined,
    });  // prettier-ignore
  }

  function hue(text) {
    let hash = 0;
    for (const character of text || "") hash = (hash * 31 + character.charCodeAt(0)) | 0;
    return Math.abs(hash) % 360;
  }

  function territoryStyle(feature) {
    if (feature.getGeometry().getType() === "Point") return null; // the flag's own point shows it
    const h = feature.get("ownerId") ? hue(feature.get("ownerId")) : 140;
    return new ol.style.Style({
      fill: new ol.style.Fill({ color: "hsla(" + h + ", 70%, 50%, 0.18)" }),
      stroke: new ol.style.Stroke({ color: "hsl(" + h + ", 70%, 35%)", width: 1.2 }),
      text: new ol.style.Text({
        text: feature.get("name"), font: "11px sans-serif",
        stroke: new ol.style.Stroke({ color: "#fff", width: 3 }),
      }),
    });  // prettier-ignore
  }

  const flagColours = { 1: "#0969da", 2: "#1a7f37", 3: "#8250df", 4: "#bf3989" };
  const flagCanvasStyles = {};
  for (const [code, colour] of Object.entries(flagColours)) {
    flagCanvasStyles[code] = new ol.style.Style({
      image: new ol.style.RegularShape({
        points: 4, radius: 6, angle: Math.PI / 4,
        fill: new ol.style.Fill({ color: colour }),
        stroke: new ol.style.Stroke({ color: "#fff", width: 1.5 }),
      }),
    });  // prettier-ignore
  }
  const playerCanvasStyle = new ol.style.Style({
    image: new ol.style.Circle({
      radius: 5,
      fill: new ol.style.Fill({ color: "#d1242f" }),
      stroke: new ol.style.Stroke({ color: "#fff", width: 1.5 }),
    }),
  });

  const sources = {
    areas: new ol.source.Vector(),
    territories: new ol.source.Vector(),
    flags: new ol.source.Vector(),
    players: new ol.source.Vector(),
    drawn: new ol.source.Vector(),
  };
  const base = mmoBaseMap.layers({
    worldUrl: data.worldUrl, tileUrl: data.tileUrl, tileAttribution: data.tileAttribution,
  });  // prettier-ignore
  const layers = {
    tiles: base[1],
    areas: new ol.layer.Vector({ source: sources.areas, style: areaStyle }),
    territories: new ol.layer.Vector({ source: sources.territories, style: territoryStyle }),
    flags: pointsLayer(
      sources.flags,
      {
        symbol: {
          symbolType: "square", rotateWithView: false,
          size: ["interpolate", ["linear"], ["zoom"], 2, 5, 14, 12],
          color: ["match", ["get", "typeCode"],
            2, flagColours[2], 3, flagColours[3], 4, flagColours[4], flagColours[1]],
        },
      },
      (feature) => flagCanvasStyles[feature.get("typeCode")] || flagCanvasStyles[1]
    ),  // prettier-ignore
    players: pointsLayer(
      sources.players,
      {
        symbol: {
          symbolType: "circle", rotateWithView: false,
          size: ["interpolate", ["linear"], ["zoom"], 2, 6, 14, 12],
          color: "#d1242f",
        },
      },
      playerCanvasStyle
    ),  // prettier-ignore
    drawn: new ol.layer.Vector({ source: sources.drawn }),
  };
  const popup = new ol.Overlay({ element: popupElement, autoPan: { animation: { duration: 200 } } });
  const map = new ol.Map({
    target: element,
    layers: [
      ...base, layers.areas, layers.territories, layers.flags, layers.players, layers.drawn,
    ],  // prettier-ignore
    overlays: [popup],
    view: new ol.View({ center: ol.proj.fromLonLat([0, 20]), zoom: 2 }),
  });

  // Loading by view box ------------------------------------------------------------

  function viewBox() {
    const extent = ol.proj.transformExtent(
      map.getView().calculateExtent(map.getSize()), "EPSG:3857", "EPSG:4326"
    );
    return [
      Math.max(extent[0], -180), Math.max(extent[1], -90),
      Math.min(extent[2], 180), Math.min(extent[3], 90),
    ];  // prettier-ignore
  }

  const counts = { areas: 0, flags: 0, territories: 0, online: 0 };
  let stoppedNote = "";  // why the live players stopped, kept through later updates
  function showStatus(extra) {
    extra = extra || stoppedNote;
    status.textContent =
      counts.online + " players online in view · " + counts.flags +
      (flagsTruncated ? " flags (the first; zoom in for the rest)" : " flags") + " · " +
      counts.areas + " areas" + (extra ? " · " + extra : "");
  }  // prettier-ignore

  const pending = {};
  async function load(name, url, box, read) {
    if (pending[name]) pending[name].abort();
    const controller = (pending[name] = new AbortController());
    try {
      const response = await fetch(url + "?bbox=" + box.join(","), {
        credentials: "same-origin", signal: controller.signal,
      });  // prettier-ignore
      if (!response.ok) throw new Error(response.status + " " + response.statusText);
      const features = read(await response.json());
      sources[name].clear(true);
      sources[name].addFeatures(features);
      counts[name] = features.length;
      showStatus();
    } catch (error) {
      if (error.name !== "AbortError") showStatus("could not load " + name + ": " + error.message);
    } finally {
      if (pending[name] === controller) delete pending[name];
    }
  }

  let flagAdminUrl = "";
  let flagsTruncated = false;
  function readFlags(body) {
    flagAdminUrl = body.adminUrl;
    flagsTruncated = body.truncated;
    return body.flags.map((flag) => {
      const feature = new ol.Feature({
        geometry: new ol.geom.Point(ol.proj.fromLonLat([flag.lng, flag.lat])),
        kind: "flag", typeCode: FLAG_TYPES[flag.type] || 1, ...flag,
      });  // prettier-ignore
      feature.setId(flag.id);
      return feature;
    });
  }

  let loads = Promise.resolve();
  function loadView() {
    const box = viewBox();
    const resolution = map.getView().getResolution();
    const loading = [
      load("areas", data.areasUrl, box, (body) => geojson.readFeatures(body)),
      load("flags", data.flagsUrl, box, readFlags),
    ];
    if (resolution <= TERRITORY_RESOLUTION) {
      loading.push(load("territories", data.territoriesUrl, box, (b) => geojson.readFeatures(b)));
    } else {
      sources.territories.clear(true);
    }
    loads = Promise.all(loading);
    sendView(box);
  }
  map.on("moveend", loadView);

  // Live players over the staff socket ---------------------------------------------

  let socket = null;
  let lastBox = null;
  function sendView(box) {
    lastBox = box;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "view", bbox: box }));
    }
  }

  function placePlayer(row) {
    const [id, name, lng, lat, area] = row;
    const coordinates = ol.proj.fromLonLat([lng, lat]);
    let feature = sources.players.getFeatureById(id);
    if (feature) {
      feature.getGeometry().setCoordinates(coordinates);
      feature.set("name", name, true);
      feature.set("area", area, true);
      return null;
    }
    feature = new ol.Feature({ geometry: new ol.geom.Point(coordinates), kind: "player", id, name, area });
    feature.setId(id);
    return feature;
  }

  function onPlayers(update) {
    if (update.reset) sources.players.clear(true);
    for (const id of update.gone) {
      const feature = sources.players.getFeatureById(id);
      if (feature) sources.players.removeFeature(feature);
    }
    const added = update.players.map(placePlayer).filter((feature) => feature !== null);
    if (added.length) sources.players.addFeatures(added);
    counts.online = update.online;
    showStatus();
    window.worldMap.lastPush = Date.now();
  }

  let retry = 500;
  let accessEnded = null;
  function openSocket() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + data.socketPath);
    socket.onopen = () => {
      retry = 500;
      if (lastBox) sendView(lastBox);
    };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "players") onPlayers(event.data);
      else if (event.type === "error" && event.data.code === "access_ended") {
        accessEnded = event.data.message;
      } else if (event.type === "error") showStatus("live players: " + event.data.message);
    };
    socket.onclose = (closed) => {
      // The admin access ended (logout, session over, account changed): reconnecting cannot help.
      if (accessEnded || closed.code === 4003) {
        stoppedNote = "live players stopped: " + (accessEnded || closed.reason || "the admin access ended.") +
          " Reload the page.";
        showStatus();
        return;
      }
      showStatus("live players reconnecting…");
      setTimeout(openSocket, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }
  openSocket();

  // Layers on and off -----------------------------------------------------------------

  for (const box of document.querySelectorAll("#world-map-layers input")) {
    const layer = layers[box.name];
    if (!layer) {
      box.parentElement.hidden = true; // no tiles configured
      continue;
    }
    box.addEventListener("change", () => layer.setVisible(box.checked));
  }

  // Popups -----------------------------------------------------------------------------

  function escape(text) {
    const span = document.createElement("span");
    span.textContent = text === null || text === undefined ? "—" : String(text);
    return span.innerHTML;
  }
  function details(rows) {
    return "<dl>" + rows.map(([k, v]) => "<dt>" + escape(k) + "</dt><dd>" + escape(v) + "</dd>").join("") + "</dl>";
  }
  function withId(template, id) {
    return template.replace("00000000-0000-0000-0000-000000000000", id).replace("{id}", id);
  }

  function popupHtml(feature) {
    const p = feature.getProperties();
    if (p.kind === "player") {
      const [lng, lat] = ol.proj.toLonLat(feature.getGeometry().getCoordinates());
      return "<h3>" + escape(p.name) + "</h3>" +
        details([["Player", p.id], ["Area", p.area], ["Position", lat.toFixed(5) + ", " + lng.toFixed(5)]]) +
        '<a class="admin-link" href="' + withId(data.playerUrl, p.id) + '">Player page</a>' +
        '<div class="actions"><button type="button" data-action="disconnect" data-id="' + escape(p.id) +
        '">Disconnect</button><button type="button" data-action="deactivate" data-id="' + escape(p.id) +
        '">Deactivate account</button></div><p class="result"></p>';
    }
    if (p.kind === "area") {
      return "<h3>" + escape(p.name) + "</h3>" +
        details([["Area", feature.getId()], ["Type", p.type], ["Active", p.isActive ? "yes" : "no"]]) +
        '<a class="admin-link" href="' + escape(p.adminUrl) + '">Edit area</a>';
    }
    const id = feature.getId();
    return "<h3>" + escape(p.name) + "</h3>" +
      details([["Flag", p.type + (p.isStartHub ? " (start hub)" : "")], ["Owner", p.owner],
        ["Radius", p.radius ? Math.round(p.radius) + " m" : null],
        ["State", p.isAbandoned ? "abandoned" : p.isHardened ? "hardened" : "standing"]]) +
      '<a class="admin-link" href="' + withId(flagAdminUrl, id) + '">Edit flag</a>';
  }  // prettier-ignore

  function featureAt(pixel) {
    const order = [layers.players, layers.flags, layers.territories, layers.areas];
    const found = [];
    map.forEachFeatureAtPixel(pixel, (feature, layer) => {
      found.push([order.indexOf(layer), feature]);
    }, { hitTolerance: 4, layerFilter: (layer) => order.includes(layer) && layer.getVisible() });  // prettier-ignore
    found.sort((a, b) => a[0] - b[0]);
    return found.length ? found[0][1] : null;
  }

  function openPopup(feature, coordinate) {
    if (feature.get("kind") === "territory") {
      feature = sources.flags.getFeatureById(feature.getId()) || feature;
    }
    popupElement.querySelector(".content").innerHTML = popupHtml(feature);
    popupElement.hidden = false;
    popup.setPosition(
      feature.getGeometry().getType() === "Point" ? feature.getGeometry().getCoordinates() : coordinate
    );
  }

  map.on("singleclick", (event) => {
    if (drawing) return;
    const feature = featureAt(event.pixel);
    if (feature) openPopup(feature, event.coordinate);
    else {
      popup.setPosition(undefined);
      popupElement.hidden = true;
    }
  });
  map.on("pointermove", (event) => {
    if (!event.dragging) element.style.cursor = featureAt(event.pixel) ? "pointer" : "";
  });

  popupElement.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    if (action === "deactivate" && !confirm("Deactivate this account? The player can no longer log in.")) return;
    const url = withId(action === "disconnect" ? data.disconnectUrl : data.deactivateUrl, button.dataset.id);
    const result = popupElement.querySelector(".result");
    try {
      const response = await fetch(url, {
        method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrfToken },
      });  // prettier-ignore
      const body = await response.json();
      result.textContent = body.detail;
    } catch (error) {
      result.textContent = "Failed: " + error.message;
    }
  });

  // Search and fly ------------------------------------------------------------------

  const searchForm = document.getElementById("world-map-search");
  const results = document.getElementById("world-map-results");

  function flyTo(lng, lat, then) {
    map.getView().animate(
      { center: ol.proj.fromLonLat([lng, lat]), zoom: Math.max(map.getView().getZoom(), 15), duration: 600 },
      then
    );
  }

  searchForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const query = searchForm.q.value.trim();
    results.innerHTML = "";
    if (!query) return;
    const response = await fetch(data.searchUrl + "?q=" + encodeURIComponent(query), { credentials: "same-origin" });
    const body = await response.json();
    if (!response.ok || !body.results.length) {
      results.innerHTML = "<li>Nothing found</li>";
      return;
    }
    for (const found of body.results) {
      const item = document.createElement("li");
      item.textContent = (found.kind === "player" ? "👤 " : "⚑ ") + found.name;
      item.addEventListener("click", () => {
        results.innerHTML = "";
        // An online player is where the socket last saw them, not where the database has them.
        const live = found.kind === "player" && sources.players.getFeatureById(found.id);
        const [lng, lat] = live ? ol.proj.toLonLat(live.getGeometry().getCoordinates()) : [found.lng, found.lat];
        flyTo(lng, lat, () => loads.then(() => {
          const feature = (found.kind === "player" ? sources.players : sources.flags).getFeatureById(found.id);
          if (feature) openPopup(feature);
        }));
      });
      results.appendChild(item);
    }
  });  // prettier-ignore

  // Drawing a new area -------------------------------------------------------------

  let drawing = null;
  const drawButton = document.getElementById("world-map-draw");
  drawButton.addEventListener("click", () => {
    if (drawing) {
      map.removeInteraction(drawing);
      drawing = null;
      drawButton.classList.remove("active");
      return;
    }
    drawing = new ol.interaction.Draw({ source: sources.drawn, type: "Polygon" });
    drawing.on("drawend", (event) => {
      const polygon = event.feature.getGeometry().clone().transform("EPSG:3857", "EPSG:4326");
      const wkt = new ol.format.WKT().writeGeometry(new ol.geom.MultiPolygon([polygon.getCoordinates()]), {
        decimals: 7,
      });
      location.href = data.areaAddUrl + "?boundary=" + encodeURIComponent("SRID=4326;" + wkt);
    });
    map.addInteraction(drawing);
    drawButton.classList.add("active");
  });

  window.worldMap = { map: map, sources: sources, layers: layers, webgl: webgl, loaded: () => loads, fit: fitWorld };

  // The first view: everything there is, as far as the areas and flags reach.
  function fitWorld(box) {
    const extent = ol.proj.transformExtent(box, "EPSG:4326", "EPSG:3857");
    map.getView().fit(extent, { padding: [40, 40, 40, 40], maxZoom: 15 });
  }
  // (Once the page is laid out: the admin's sidebar changes the map's width.)
  const start = new URLSearchParams(location.search).get("bbox") || data.extent;
  function begin() {
    map.updateSize();
    fitWorld(start.split(",").map(Number));
  }
  if (document.readyState === "complete") begin();
  else window.addEventListener("load", begin);
  showStatus();
})();
