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
    const layer = new ol.layer.Vector({
      source: source,
      style: (feature) => (feature.get("layer") === "land" ? land : border),
      updateWhileInteracting: false,
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
