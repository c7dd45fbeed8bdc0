// Copy buttons: <button data-copy="ID" hidden>Copy</button> next to a read-only field or a <code> box holding the
// text. Shown only when the script runs; copies with the Clipboard API, or by selecting the text for the user
// where that is refused. A click in the field or box selects the whole text.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    var status = document.getElementById(button.dataset.copy + "-status");
    if (!source) return;
    var isField = "value" in source && typeof source.select === "function";
    var label = button.textContent;
    button.hidden = false;
    function text() { return isField ? source.value : source.textContent.trim(); }
    function select() {
      if (isField) { source.focus(); source.select(); return; }
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    source.addEventListener("click", select);
    function done(message) {
      button.textContent = message;
      if (status) status.textContent = message;
      window.setTimeout(function () { button.textContent = label; if (status) status.textContent = ""; }, 2500);
    }
    button.addEventListener("click", function () {
      select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text()).then(function () { done("Copied"); },
          function () { done("Press Ctrl+C to copy"); });
      } else {
        done(document.execCommand && document.execCommand("copy") ? "Copied" : "Press Ctrl+C to copy");
      }
    });
  });
})();
