// A search or filter is answered in place of its POST (registry/sealed_query.py): put the results' own
// address (?k=<key>, which names no one) in the address bar, so that reloading, bookmarking and the back
// button use it and never post the search again. A separate file: the content security policy is 'self'.
(() => {
  const address = document.body.dataset.sealedAddress;
  if (address && window.history.replaceState) window.history.replaceState(null, "", address);
})();
