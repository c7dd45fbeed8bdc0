// A form that comes back with errors starts at its error summary (macros/forms.html): the focus moves there, so
// the page scrolls to it and screen-reader and keyboard users hear the list of problems first. The list follows
// the order of the fields on the page (whatever order the form class declares them in); a link in it moves the
// focus into its field. A summary with data-page-url shows that address (the page the form belongs to) in place
// of the address the form posted to.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (!summary) return;
  function target(link) { return document.getElementById(decodeURIComponent(link.hash.slice(1))); }
  var list = summary.querySelector("ul");
  if (list) {
    Array.prototype.slice.call(list.children).map(function (item) {
      var link = item.querySelector("a[href^='#']");
      return {item: item, field: link && target(link)};
    }).sort(function (a, b) {
      if (!a.field || !b.field || a.field === b.field) return 0;
      return a.field.compareDocumentPosition(b.field) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
    }).forEach(function (entry) { list.appendChild(entry.item); });
  }
  summary.focus();
  if (summary.dataset.pageUrl && window.history && history.replaceState) {
    // Once loaded: a fragment in the address while the page loads would scroll to it and take the focus away.
    window.addEventListener("load", function () { history.replaceState(null, "", summary.dataset.pageUrl); });
  }
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    var field = link && target(link);
    if (!field) return;
    event.preventDefault();
    field.focus();
    (field.closest(".field, fieldset") || field).scrollIntoView({block: "start"});
  });
})();
