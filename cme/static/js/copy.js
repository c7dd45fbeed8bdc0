// Copy buttons: <button data-copy="INPUT-ID" hidden>Copy</button> next to a read-only field. Shown only when
// the script runs; copies with the Clipboard API, or by selecting the text for the user where that is refused.
// A click in the field selects the whole address.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.dataset.copy);
    var status = document.getElementById(button.dataset.copy + "-status");
    if (!field) return;
    var label = button.textContent;
    button.hidden = false;
    field.addEventListener("click", function () { field.select(); });
    function done(message) {
      button.textContent = message;
      if (status) status.textContent = message;
      window.setTimeout(function () { button.textContent = label; if (status) status.textContent = ""; }, 2500);
    }
    button.addEventListener("click", function () {
      field.focus();
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () { done("Copied"); },
          function () { done("Press Ctrl+C to copy"); });
      } else {
        done(document.execCommand && document.execCommand("copy") ? "Copied" : "Press Ctrl+C to copy");
      }
    });
  });
})();
