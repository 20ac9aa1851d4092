// Print buttons: <button data-print> opens the browser's print dialog (the route list prints on A4).
// A separate file rather than inline script, so the content security policy can stay 'self'.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
