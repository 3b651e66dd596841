// The citizen's portal: copy a new share link to the clipboard.
(function () {
  const button = document.getElementById("copy-share-url");
  const field = document.getElementById("new-share-url");
  if (!button || !field) return;
  button.addEventListener("click", async function () {
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
    } catch (e) {
      document.execCommand("copy");  // pages served over plain http on a LAN
    }
    button.textContent = button.dataset.copied;
  });
})();
