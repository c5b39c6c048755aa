/* When the session ends while a dashboard page is open (12 hours after sign-in, sign-out in another tab, account
 * removed), the server answers Dash's requests with 401: go to the login page, and come back here after signing in.
 * Local use (no accounts) never gets a 401, so this does nothing there.
 */
(function () {
  "use strict";
  var fetch0 = window.fetch;
  if (!fetch0) { return; }
  var leaving = false;
  window.fetch = function () {
    return fetch0.apply(this, arguments).then(function (response) {
      if (response.status === 401 && !leaving && response.url.indexOf("/_dash-") !== -1) {
        leaving = true;
        window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
      }
      return response;
    });
  };
})();
