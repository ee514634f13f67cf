/* Draws every <canvas data-chart="..."> with the vendored Chart.js (no inline script:
   the configuration is JSON in the attribute). The data table next to the chart stays
   for screen readers and for reading without JavaScript. */
(function () {
  "use strict";
  function draw(canvas) {
    if (typeof window.Chart === "undefined") return;
    var config;
    try { config = JSON.parse(canvas.getAttribute("data-chart")); } catch (e) { return; }
    config.data.datasets.forEach(function (d) { d.data = d.data.map(Number); });  /* Decimals arrive as strings */
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false,
      animation: false, plugins: { legend: { display: config.data.datasets.length > 1 } } },
      config.options || {});
    canvas.parentElement.classList.add("chart-drawn");  /* visible first, so Chart.js can size it */
    new window.Chart(canvas, config);
    var figure = canvas.closest("figure");
    var table = figure && figure.querySelector("table.chart-data");
    if (table) table.classList.add("sr-only");
  }
  function init() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
