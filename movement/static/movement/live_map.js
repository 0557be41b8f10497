// The staff's live map: polls the online players and draws them on OpenLayers,
// over the flags in view with their territories (reloaded when the view moves).
(function () {
  "use strict";
  const element = document.getElementById("live-map");
  const status = document.getElementById("live-map-status");
  const players = new ol.source.Vector();
  const territories = new ol.source.Vector();
  const geojson = new ol.format.GeoJSON({ featureProjection: "EPSG:3857" });

  // One hue per owner, so that neighbours' lands tell apart.
  function hue(text) {
    let hash = 0;
    for (const character of text || "") hash = (hash * 31 + character.charCodeAt(0)) | 0;
    return Math.abs(hash) % 360;
  }

  function territoryStyle(feature) {
    if (feature.getGeometry().getType() === "Point") {
      return new ol.style.Style({
        image: new ol.style.RegularShape({
          points: 4, radius: 7, angle: Math.PI / 4,
          fill: new ol.style.Fill({ color: feature.get("isStartHub") ? "#2a7" : "#888" }),
          stroke: new ol.style.Stroke({ color: "#fff", width: 2 }),
        }),
        text: new ol.style.Text({ text: feature.get("name"), offsetY: 14 }),
      });
    }
    const h = hue(feature.get("ownerId"));
    return new ol.style.Style({
      fill: new ol.style.Fill({ color: "hsla(" + h + ", 70%, 50%, 0.25)" }),
      stroke: new ol.style.Stroke({ color: "hsl(" + h + ", 70%, 35%)", width: 1.5 }),
      text: new ol.style.Text({ text: feature.get("name") + " (" + feature.get("owner") + ")" }),
    });
  }
  const map = new ol.Map({
    target: element,
    layers: [
      new ol.layer.Tile({
        source: new ol.source.XYZ({
          url: element.dataset.tileUrl,
          attributions: element.dataset.tileAttribution,
          maxZoom: 19,
        }),
      }),
      new ol.layer.Vector({ source: territories, style: territoryStyle }),
      new ol.layer.Vector({
        source: players,
        style: (feature) =>
          new ol.style.Style({
            image: new ol.style.Circle({
              radius: 6,
              fill: new ol.style.Fill({ color: "#d33" }),
              stroke: new ol.style.Stroke({ color: "#fff", width: 2 }),
            }),
            text: new ol.style.Text({
              text: feature.get("name"),
              offsetY: -14,
              stroke: new ol.style.Stroke({ color: "#fff", width: 3 }),
            }),
          }),
      }),
    ],
    view: new ol.View({ center: ol.proj.fromLonLat([0, 0]), zoom: 13 }),
  });
  window.liveMap = { map: map, players: players, territories: territories };

  async function loadTerritories() {
    const extent = ol.proj.transformExtent(
      map.getView().calculateExtent(map.getSize()), "EPSG:3857", "EPSG:4326"
    );
    const box = [
      Math.max(extent[0], -180), Math.max(extent[1], -90),
      Math.min(extent[2], 180), Math.min(extent[3], 90),
    ];
    try {
      const response = await fetch(element.dataset.territoriesUrl + "?bbox=" + box.join(","), {
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(response.status + " " + response.statusText);
      territories.clear();
      territories.addFeatures(geojson.readFeatures(await response.json()));
    } catch (error) {
      status.textContent = "Could not load territories: " + error.message;
    }
  }
  map.on("moveend", loadTerritories);

  async function refresh() {
    try {
      const response = await fetch(element.dataset.playersUrl, { credentials: "same-origin" });
      if (!response.ok) throw new Error(response.status + " " + response.statusText);
      const body = await response.json();
      players.clear();
      players.addFeatures(
        body.players.map(
          (player) =>
            new ol.Feature({
              geometry: new ol.geom.Point(ol.proj.fromLonLat([player.position.lng, player.position.lat])),
              name: player.displayName || player.username,
              playerId: player.playerId,
            })
        )
      );
      status.textContent = body.players.length + " players online · " + new Date().toLocaleTimeString();
    } catch (error) {
      status.textContent = "Could not load online players: " + error.message;
    }
  }
  refresh();
  setInterval(refresh, 1000 * Number(element.dataset.refreshSeconds));
})();
