// Buttons marked data-print print the page (a handler here, not an onclick
// attribute: the Content-Security-Policy runs no inline script).
(function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
