// A form that comes back with errors starts at its error summary (macros/forms.html): the focus moves there,
// so screen-reader and keyboard users hear the list of problems first.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
