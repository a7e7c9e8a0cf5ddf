// The quiz's list of questions: drag a row to move the question; the numbers follow the
// rows, and saving the quiz keeps them. Typing a number does the same without a mouse.
// Loaded in the head by the admin's form media: it waits for the page.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var body = document.querySelector("#questions-group tbody");
  if (!body) return;
  var dragged = null;

  function rows() { return body.querySelectorAll("tr.form-row.has_original"); }
  function renumber() {
    var all = rows();
    for (var i = 0; i < all.length; i++) {
      var input = all[i].querySelector("input.question-number");
      if (input) input.value = String(i + 1);
    }
  }

  var all = rows();
  for (var i = 0; i < all.length; i++) {
    all[i].draggable = true;
    all[i].classList.add("is-draggable");
  }
  body.addEventListener("dragstart", function (event) {
    dragged = event.target.closest && event.target.closest("tr.is-draggable");
    if (!dragged) return;
    dragged.classList.add("is-dragged");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", "");
  });
  body.addEventListener("dragover", function (event) {
    var row = event.target.closest && event.target.closest("tr.is-draggable");
    if (!dragged || !row || row === dragged) return;
    event.preventDefault();
    var box = row.getBoundingClientRect();
    body.insertBefore(dragged, event.clientY < box.top + box.height / 2 ? row : row.nextSibling);
  });
  body.addEventListener("drop", function (event) { if (dragged) event.preventDefault(); });
  body.addEventListener("dragend", function () {
    if (!dragged) return;
    dragged.classList.remove("is-dragged");
    dragged = null;
    renumber();
  });
});
