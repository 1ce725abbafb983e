// Branching on the page: show only the questions on the path the answers so far take
// (the server checks the same path). Hidden questions are disabled, so they are neither
// validated nor sent. Without script every question shows; the server still follows the path.
(function () {
  "use strict";
  var form = document.getElementById("survey");
  if (!form) { return; }
  var questions = Array.prototype.slice.call(form.querySelectorAll("fieldset.question"));
  function answerOf(q) {
    var checked = q.querySelector("input[type=radio]:checked");
    return checked ? checked.value : null;
  }
  function update() {
    var index = {};
    questions.forEach(function (q, i) { index[q.dataset.question] = i; });
    var onPath = {};
    var i = 0;
    while (i !== null && i < questions.length) {
      var q = questions[i];
      onPath[q.dataset.question] = true;
      var branches = JSON.parse(q.dataset.branches || "{}");
      var answer = answerOf(q);
      var next = i + 1;
      if (answer !== null && Object.prototype.hasOwnProperty.call(branches, answer)) {
        var goto = branches[answer];
        next = goto === "end" ? null : index[goto];
      }
      i = next;
    }
    questions.forEach(function (q) {
      var shown = !!onPath[q.dataset.question];
      q.hidden = !shown;
      q.disabled = !shown;
    });
  }
  form.addEventListener("change", update);
  update();
})();
