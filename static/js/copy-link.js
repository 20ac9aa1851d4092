// Copy buttons: <button data-copy-target="#input-id" data-copied-label="Copied"> copies that input's value.
// A separate file rather than inline script, so the content security policy can stay 'self'.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const input = document.querySelector(button.dataset.copyTarget);
  if (!input) return;
  const done = () => {
    if (button.dataset.copiedLabel) button.textContent = button.dataset.copiedLabel;
  };
  input.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, () => document.execCommand("copy") && done());
  } else if (document.execCommand("copy")) {
    done();
  }
});
