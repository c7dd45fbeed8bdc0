// Refuses a file larger than the site accepts before it is sent: a file input with data-max-bytes="N" says so as
// soon as the file is chosen, and its form is not submitted until a smaller file is chosen. The server refuses
// such a file too (a field error, or 413 past the request limit), but only after the whole file has been sent.
(function () {
  "use strict";
  function megabytes(size) {
    return size >= 1048576 ? Math.round(size / 1048576) + " MB" : Math.round(size / 1024) + " KB";
  }
  function check(input) {
    var max = Number(input.dataset.maxBytes);
    var file = input.files && input.files[0];
    var message = file && file.size > max
      ? "This file is " + megabytes(file.size) + "; at most " + megabytes(max) + " can be uploaded." : "";
    input.setCustomValidity(message);
    return !message;
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches("input[type=file][data-max-bytes]") && !check(input)) input.reportValidity();
  });
  document.addEventListener("submit", function (event) {
    var inputs = event.target.querySelectorAll("input[type=file][data-max-bytes]");
    for (var i = 0; i < inputs.length; i++) {
      if (!check(inputs[i])) {
        event.preventDefault();
        inputs[i].reportValidity();
        return;
      }
    }
  });
})();
