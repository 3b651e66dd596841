// Batch signing: the ticked documents and the passphrase go to
// POST /api/v1/signing-jobs (the key is unlocked once, on the server); then
// GET /api/v1/signing-jobs/<id> every 500 ms moves the bar ("Đã ký 3/5") and
// fills in each document's result, until the job has finished.
(function () {
  const form = document.getElementById("batch-form");
  if (!form) return;
  const text = JSON.parse(document.getElementById("page-texts").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const errorBox = document.getElementById("batch-error");
  const progress = document.getElementById("batch-progress");
  const bar = progress.querySelector("progress");
  const count = document.getElementById("batch-count");
  const button = document.getElementById("batch-submit");
  const boxes = () => Array.from(form.querySelectorAll('input[name="document_ids"]'));

  document.getElementById("select-all").addEventListener("change", (event) => {
    boxes().forEach((b) => { b.checked = event.target.checked; });
  });

  function errorText(body, fallback) {
    return text.errors[body.code] || body.message || fallback;
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function show(job) {
    bar.max = job.total;
    bar.value = job.done;
    let line = text.progress.replace("{done}", job.done - job.failed).replace("{total}", job.total);
    if (job.failed) line += " · " + text.failedCount.replace("{failed}", job.failed);
    count.textContent = line;
    count.dataset.done = job.done;
    count.dataset.total = job.total;
    for (const result of job.results) {
      const row = form.querySelector('tr[data-id="' + result.document_id + '"]');
      if (!row || row.dataset.result) continue;
      const cell = row.querySelector(".result");
      row.dataset.result = result.ok ? "ok" : "failed";
      row.classList.add(result.ok ? "signed-ok" : "signed-failed");
      cell.textContent = result.ok ? text.ok : text.failed + ": " + errorText(result, "");
      cell.dataset.code = result.code || "";
    }
  }

  function finish(job) {
    document.getElementById("batch-finished").hidden = false;
    progress.dataset.status = job.status;
    if (job.status !== "finished") showError(text.stopped);
    // Each document's page, to check it or go on with it.
    for (const row of form.querySelectorAll("tr[data-id]")) {
      const cell = row.querySelector(".result");
      if (!row.dataset.result) continue;
      const link = document.createElement("a");
      link.href = "/documents/" + row.dataset.id;
      link.textContent = text.open;
      cell.append(" — ", link);
    }
  }

  async function poll(id) {
    let job;
    try {
      const response = await fetch("/api/v1/signing-jobs/" + id, {credentials: "same-origin"});
      job = await response.json();
      if (!response.ok) { showError(errorText(job, response.statusText)); return; }
    } catch (e) {
      setTimeout(() => poll(id), 500);  // transient: try again
      return;
    }
    show(job);
    if (job.status === "running") setTimeout(() => poll(id), 500);
    else finish(job);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const ids = boxes().filter((b) => b.checked).map((b) => b.value);
    if (!ids.length) { showError(text.choose); return; }
    const passphrase = document.getElementById("batch-passphrase");
    button.disabled = true;
    let response, body = {};
    try {
      response = await fetch("/api/v1/signing-jobs", {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
        body: JSON.stringify({document_ids: ids, passphrase: passphrase.value}),
      });
      try { body = await response.json(); } catch (e) { /* not JSON: show status */ }
    } catch (e) {
      button.disabled = false;
      showError(text.stopped);
      return;
    }
    passphrase.value = "";
    if (response.status !== 202) {
      button.disabled = false;
      showError(errorText(body, response.statusText));
      errorBox.dataset.code = body.code || "";
      return;
    }
    // One batch a page: the passphrase and button go away while it runs.
    form.querySelector(".inline-actions").hidden = true;
    boxes().forEach((b) => { b.disabled = true; });
    document.getElementById("select-all").disabled = true;
    progress.hidden = false;
    progress.dataset.job = body.id;
    show(body);
    setTimeout(() => poll(body.id), 500);
  });
})();
