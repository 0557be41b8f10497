// The staff's live map: polls the online players and draws them on OpenLayers.
(function () {
  "use strict";
  const element = document.getElementById("live-map");
  const status = document.getElementById("live-map-status");
  const players = new ol.source.Vector();
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
  window.liveMap = { map: map, players: players };

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
