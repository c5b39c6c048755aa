/* Click anywhere on a plotly geo map -> its latitude/longitude in a dcc.Store.
 *
 * plotly.js reports clicks on data points only; the what-if page also needs a click on empty map (the centre of a
 * disruption circle). A wrapper element names the store to fill: <div data-geo-click="store-id">graph</div>.
 * The click position is turned into lon/lat with the geo subplot's own projection (plotly.js keeps it as
 * gd._fullLayout.geo._subplot.projection, a d3 projection in the graph div's pixel coordinates). A drag (pan)
 * is not a click. Nothing is loaded from anywhere.
 */
(function () {
  "use strict";
  var down = null;
  document.addEventListener("mousedown", function (e) { down = [e.clientX, e.clientY]; }, true);
  document.addEventListener("click", function (e) {
    var holder = e.target && e.target.closest ? e.target.closest("[data-geo-click]") : null;
    if (!holder || !window.dash_clientside || !window.dash_clientside.set_props) { return; }
    if (down && Math.abs(e.clientX - down[0]) + Math.abs(e.clientY - down[1]) > 5) { return; }
    if (e.target.closest(".modebar, .legend, .colorbar, .hoverlayer")) { return; }
    var gd = holder.querySelector(".js-plotly-plot");
    var geo = gd && gd._fullLayout && gd._fullLayout.geo && gd._fullLayout.geo._subplot;
    if (!geo || !geo.projection || !geo.framework || !geo.framework.node().contains(e.target)) { return; }
    var rect = gd.getBoundingClientRect();
    var lonlat = geo.projection.invert([e.clientX - rect.left, e.clientY - rect.top]);
    if (!lonlat || !isFinite(lonlat[0]) || !isFinite(lonlat[1]) || Math.abs(lonlat[1]) > 90) { return; }
    var lon = ((lonlat[0] + 540) % 360) - 180;
    window.dash_clientside.set_props(holder.getAttribute("data-geo-click"), {
      data: {lat: Math.round(lonlat[1] * 1000) / 1000, lon: Math.round(lon * 1000) / 1000, t: Date.now()}
    });
  }, true);
})();
