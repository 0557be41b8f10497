// The base of every admin map: Natural Earth's land and borders from the project's
// static files (drawn offline, so no map is ever blank), and over them the raster
// tiles of MAP_TILE_URL where they can be reached.
(function () {
  "use strict";
  const sea = "#cfe2ee";
  const land = new ol.style.Style({
    fill: new ol.style.Fill({ color: "#f3f0e8" }),
    stroke: new ol.style.Stroke({ color: "#9bb5c6", width: 1 }),
    zIndex: 0,
  });
  const border = new ol.style.Style({
    stroke: new ol.style.Stroke({ color: "#b7a9b9", width: 0.8 }),
    zIndex: 1,
  });

  // A few rings cross the antimeridian (Fiji, Chukotka) and come as a jump from one
  // edge of the world to the other: unwrapped, they end just past the edge instead
  // of drawing a line across the whole map.
  const WORLD_WIDTH = 2 * 20037508.342789244;
  function unwrapRing(ring) {
    let shift = 0;
    let previous = null;
    return ring.map((point) => {
      if (previous !== null) {
        const jump = point[0] + shift - previous;
        if (jump > WORLD_WIDTH / 2) shift -= WORLD_WIDTH;
        else if (jump < -WORLD_WIDTH / 2) shift += WORLD_WIDTH;
      }
      previous = point[0] + shift;
      return [previous, point[1]];
    });
  }
  function unwrapRings(coordinates, depth) {
    return depth === 1 ? unwrapRing(coordinates) : coordinates.map((c) => unwrapRings(c, depth - 1));
  }
  const RING_DEPTH = { LineString: 1, MultiLineString: 2, Polygon: 2, MultiPolygon: 3 };

  function worldLayer(url) {
    const source = new ol.source.Vector({
      url: url,
      format: new ol.format.TopoJSON({ layerName: "layer" }),
      overlaps: false,
    });
    source.on("featuresloadend", (event) => {
      for (const feature of event.features) {
        const geometry = feature.getGeometry();
        const depth = geometry && RING_DEPTH[geometry.getType()];
        if (depth) geometry.setCoordinates(unwrapRings(geometry.getCoordinates(), depth));
      }
    });
    // Drawn once per view as an image, reused while the view moves: the borders
    // of the world do not change, and redrawing them every frame is the costliest
    // part of the map.
    const layer = new ol.layer.VectorImage({
      source: source,
      style: (feature) => (feature.get("layer") === "land" ? land : border),
      imageRatio: 1.5,
      properties: { title: "Natural Earth (offline)" },
    });
    return layer;
  }

  function tileLayer(url, attribution) {
    return new ol.layer.Tile({
      source: new ol.source.XYZ({ url: url, attributions: attribution, maxZoom: 19 }),
      properties: { title: "Tiles" },
    });
  }

  // The map element's background is the sea; land and borders come from `worldUrl`.
  function layers(options) {
    const list = [worldLayer(options.worldUrl)];
    if (options.tileUrl) list.push(tileLayer(options.tileUrl, options.tileAttribution));
    return list;
  }

  window.mmoBaseMap = {
    sea: sea,
    layers: layers,
    group: (options) => new ol.layer.Group({ layers: layers(options) }),
  };
})();

// What lies around the geometry an admin form edits: the areas and flags (with their
// territories) in the map's view, from the world map's own endpoints, drawn under it
// and without the object being edited.
(function () {
  "use strict";
  const geojson = new ol.format.GeoJSON({ featureProjection: "EPSG:3857" });
  const areaStyle = (feature) =>
    new ol.style.Style({
      fill: new ol.style.Fill({ color: "rgba(100, 100, 120, 0.12)" }),
      stroke: new ol.style.Stroke({ color: "rgba(80, 80, 110, 0.8)", width: 1.5, lineDash: [5, 4] }),
      text: new ol.style.Text({
        text: feature.get("name"), font: "12px sans-serif",
        stroke: new ol.style.Stroke({ color: "#fff", width: 3 }),
      }),
    });  // prettier-ignore
  const flagStyle = (feature) =>
    new ol.style.Style({
      fill: new ol.style.Fill({ color: "rgba(26, 127, 55, 0.1)" }),
      stroke: new ol.style.Stroke({ color: "rgba(26, 127, 55, 0.7)", width: 1 }),
      image: new ol.style.RegularShape({
        points: 4, radius: 5, angle: Math.PI / 4,
        fill: new ol.style.Fill({ color: "#1a7f37" }),
        stroke: new ol.style.Stroke({ color: "#fff", width: 1 }),
      }),
      text: new ol.style.Text({
        text: feature.get("name"), font: "11px sans-serif", offsetY: -12,
        stroke: new ol.style.Stroke({ color: "#fff", width: 3 }),
      }),
    });  // prettier-ignore

  function neighbours(widget, urls) {
    const map = widget.map;
    const self = location.pathname;
    const sources = { areas: new ol.source.Vector(), flags: new ol.source.Vector() };
    const layers = [
      new ol.layer.Vector({ source: sources.areas, style: areaStyle }),
      new ol.layer.Vector({ source: sources.flags, style: flagStyle }),
    ];
    // Under the edited geometry, over the base layers.
    for (const layer of layers) map.addLayer(layer);
    async function load(name, url, box) {
      const response = await fetch(url + "?bbox=" + box.join(","), { credentials: "same-origin" });
      if (!response.ok) return;
      const features = geojson.readFeatures(await response.json()).filter((feature) => {
        const link = feature.get("adminUrl") || "";
        return !(link && self.startsWith(link)) && !self.includes("/" + feature.getId() + "/");
      });
      sources[name].clear(true);
      sources[name].addFeatures(features);
    }
    function loadView() {
      if (!map.getSize()) return;
      const extent = ol.proj.transformExtent(
        map.getView().calculateExtent(map.getSize()), "EPSG:3857", "EPSG:4326"
      );
      const box = [
        Math.max(extent[0], -180), Math.max(extent[1], -90),
        Math.min(extent[2], 180), Math.min(extent[3], 90),
      ];  // prettier-ignore
      load("areas", urls.areas, box);
      load("flags", urls.flags, box);
    }
    map.on("moveend", loadView);
    // The editor fits the geometry tightly; one step out shows what is around it.
    if (widget.featureOverlay.getSource().getFeatures().length) {
      map.getView().setZoom(map.getView().getZoom() - 1);
    } else {
      loadView();
    }
    return { sources: sources, layers: layers };
  }
  window.mmoBaseMap.neighbours = neighbours;
})();
