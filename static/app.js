// Portal's own script: small on purpose. Behaviour lives in htmx attributes; this file
// only adds what attributes cannot express. No inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";

  // <button data-confirm="…"> asks before submitting (e.g. disabling an account).
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-confirm]");
    if (target && !window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  // Close the phone menu after navigating.
  document.addEventListener("htmx:afterSwap", function () {
    var toggle = document.getElementById("nav-toggle");
    if (toggle) toggle.checked = false;
  });
})();
