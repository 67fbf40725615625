// The inbox's one script: "Velg alle" chooses or clears every dialog in the bulk form. Without it the page works
// the same, one checkbox at a time.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  const label = document.getElementById("select-all-label");
  if (!all || !label) return;
  const boxes = () => Array.from(document.querySelectorAll("#bulk input.inbox-select"));
  all.hidden = false;
  label.hidden = false;
  all.addEventListener("change", () => {
    for (const box of boxes()) box.checked = all.checked;
  });
  document.getElementById("bulk").addEventListener("change", (event) => {
    if (event.target === all) return;
    const chosen = boxes().filter((box) => box.checked).length;
    all.checked = chosen === boxes().length;
    all.indeterminate = chosen > 0 && chosen < boxes().length;
  });
});
