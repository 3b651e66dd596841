// Uploads each chosen PDF or scan as a raw request body (streams on the server, no
// multipart copy) with its own progress bar, then links to the document page.
// Every chosen file is listed at once, marked waiting, so the clerk sees the whole
// batch; they go one after another to keep one upload's bandwidth each.
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const list = document.getElementById("upload-list");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const pageText = JSON.parse(document.getElementById("page-texts").textContent);

  function listed(file) {
    const item = document.createElement("li");
    item.className = "upload waiting";
    item.innerHTML = '<span class="name"></span> <progress max="100" value="0"></progress> <span class="state"></span>';
    item.querySelector(".name").textContent = file.name;
    item.querySelector(".state").textContent = pageText.waiting;
    list.appendChild(item);
    return item;
  }

  function uploadOne(file, item, title) {
    const bar = item.querySelector("progress");
    const state = item.querySelector(".state");
    item.classList.remove("waiting");
    state.textContent = "";
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      const params = new URLSearchParams({filename: file.name});
      if (title) params.set("title", title);
      // The form says where its files go (outgoing drafts: /api/v1/outgoing).
      xhr.open("POST", (form.dataset.endpoint || "/api/v1/documents") + "?" + params.toString());
      // The server tells the format from the bytes; the type is only a hint.
      xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total); };
      xhr.onload = () => {
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: show status */ }
        if (xhr.status === 202) {
          bar.value = 100;
          item.classList.add("ok");
          const link = document.createElement("a");
          link.href = "/documents/" + body.id;
          link.textContent = pageText.done;
          state.appendChild(link);
        } else {
          item.classList.add("failed");
          bar.hidden = true;
          // The page's own words for a known error code; the API's message otherwise.
          const text = pageText.errors[body.code] || body.message || xhr.statusText;
          state.textContent = pageText.failed + ": " + text;
          state.dataset.code = body.code || "";
        }
        resolve();
      };
      xhr.onerror = () => { item.classList.add("failed"); state.textContent = pageText.failed; resolve(); };
      xhr.send(file);
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = Array.from(document.getElementById("upload-files").files);
    const title = document.getElementById("upload-title").value.trim();
    const items = files.map(listed);
    for (const [index, file] of files.entries()) {
      await uploadOne(file, items[index], files.length === 1 ? title : "");
    }
  });
})();
