// The leader places their signature on a preview of the page: a click puts the
// box's top-left corner there. Pixels become PDF points (origin bottom-left):
//   x_pt = x_px / scale,  y_pt = page_height_pt - y_px / scale - box_height
// where scale is the shown image's pixels per point. Without a click the box
// stays where the drafter put it, or at the default place (bottom right of the
// last page), and the form sends no position.
(function () {
  const frame = document.getElementById("sign-preview");
  if (!frame) return;
  const image = document.getElementById("preview-image");
  const box = document.getElementById("signature-box");
  const note = document.getElementById("placement");
  const pages = JSON.parse(frame.dataset.pages);  // [[width_pt, height_pt], ...]
  const chosen = Object.assign({}, JSON.parse(frame.dataset.box));  // {page, x, y, width, height}
  const fields = {};
  for (const name of ["page", "x", "y", "width", "height"]) fields[name] = document.getElementById("pos-" + name);
  let shown = chosen.page;

  function scale() {
    return image.clientWidth / pages[shown][0];
  }

  function drawBox() {
    if (chosen.page !== shown || !image.complete || !image.clientWidth) { box.hidden = true; return; }
    const s = scale();
    const height = pages[shown][1];
    box.style.left = chosen.x * s + "px";
    box.style.top = (height - chosen.y - chosen.height) * s + "px";
    box.style.width = chosen.width * s + "px";
    box.style.height = chosen.height * s + "px";
    box.hidden = false;
  }

  function show(index) {
    shown = index;
    image.src = frame.dataset.src + "?page=" + index;
    document.querySelectorAll("#page-buttons button").forEach((b) => {
      b.classList.toggle("current", Number(b.dataset.page) === index);
    });
    box.hidden = true;
  }

  image.addEventListener("load", drawBox);
  window.addEventListener("resize", drawBox);
  image.addEventListener("click", (event) => {
    const s = scale();
    const rect = image.getBoundingClientRect();
    const [width, height] = pages[shown];
    const x = (event.clientX - rect.left) / s;
    const y = height - (event.clientY - rect.top) / s - chosen.height;
    // Keep the whole box on the page.
    chosen.x = Math.round(Math.min(Math.max(x, 0), width - chosen.width) * 100) / 100;
    chosen.y = Math.round(Math.min(Math.max(y, 0), height - chosen.height) * 100) / 100;
    chosen.page = shown;
    for (const name of Object.keys(fields)) fields[name].value = chosen[name];
    box.classList.add("chosen");
    note.textContent = note.dataset.chosen;
    drawBox();
  });
  document.querySelectorAll("#page-buttons button").forEach((b) => {
    b.addEventListener("click", () => show(Number(b.dataset.page)));
  });
  show(shown);
})();
