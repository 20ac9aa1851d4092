// The review queue's "select all on this page": a header checkbox [data-select-all="<form id>"] ticks or clears
// every checkbox of that form on the page, and shows "some" (indeterminate) when only some are ticked.
// A separate file rather than inline script, so the content security policy can stay 'self'.
(() => {
  const boxesOf = (all) => Array.from(document.querySelectorAll(
    `input[type="checkbox"][name="selected"][form="${all.dataset.selectAll}"]`));
  const sync = (all) => {
    const boxes = boxesOf(all);
    const ticked = boxes.filter((box) => box.checked).length;
    all.checked = boxes.length > 0 && ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
    const counter = document.getElementById(all.dataset.countTarget || "");
    if (counter) counter.textContent = String(ticked);
  };
  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches("[data-select-all]")) {
      boxesOf(target).forEach((box) => { box.checked = target.checked; });
      sync(target);
    } else if (target.matches('input[type="checkbox"][name="selected"]')) {
      document.querySelectorAll("[data-select-all]").forEach(sync);
    }
  });
  document.addEventListener("DOMContentLoaded", () => document.querySelectorAll("[data-select-all]").forEach(sync));
})();
