// Blank date fields are left out of the address the search form makes
// (otherwise every search reads "?q=...&date_from=&date_to="), and are
// usable again when the browser brings the page back from its history.
(function () {
  var form = document.querySelector("form.search");
  if (!form) return;
  var dates = form.querySelectorAll("input[type=date]");
  form.addEventListener("submit", function () {
    dates.forEach(function (input) { input.disabled = !input.value; });
  });
  window.addEventListener("pageshow", function () {
    dates.forEach(function (input) { input.disabled = false; });
  });
})();
