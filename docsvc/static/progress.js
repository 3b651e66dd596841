// While a document is being processed, poll its status and move the bar;
// reload once it is ready so the extracted text appears.
(function () {
  const card = document.getElementById("document");
  if (!card || ["ready", "failed"].includes(card.dataset.status)) return;
  const bar = document.querySelector("#progress progress");
  const step = document.querySelector("#progress .step");
  const steps = JSON.parse(document.getElementById("page-texts").textContent);
  async function poll() {
    try {
      const response = await fetch("/api/v1/documents/" + card.dataset.id, {credentials: "same-origin"});
      const doc = await response.json();
      bar.value = doc.progress.percent;
      step.textContent = steps[doc.progress.step] || "";
      if (doc.status === "ready" || doc.status === "failed") { window.location.reload(); return; }
    } catch (e) { /* transient: try again */ }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 500);
})();
