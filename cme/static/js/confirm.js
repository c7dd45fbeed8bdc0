// Asks before a POST that cannot be taken back: a form (or its submit button) with data-confirm="Question?"
// shows window.confirm(question) on submit and sends nothing when the question is declined. One listener on
// the document serves every form (macros/forms.html's post_button emits the attribute).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.dataset && button.dataset.confirm) || (form.dataset && form.dataset.confirm);
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
