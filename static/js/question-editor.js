// The admin's question editor: the fields of the chosen kind only, one correct choice at a
// time, and a true-or-false question starts with its two choices.
// Loaded in the head by the admin's form media: it waits for the page.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var kind = document.getElementById("id_kind");
  if (!kind) return;

  function hasChoiceText(el) {
    var inputs = el.querySelectorAll("input[name$='-text']");
    for (var i = 0; i < inputs.length; i++) if (inputs[i].value.trim()) return true;
    return false;
  }

  // Parts marked kind-<kind> show for that kind; choices typed for a kind that has none
  // stay in sight, with the error that asks to delete them.
  function show() {
    var parts = document.querySelectorAll("fieldset[class*='kind-']");
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i];
      var wanted = part.classList.contains("kind-" + kind.value) ||
        (part.closest("#choices-group") ? hasChoiceText(part) : !!part.querySelector(".errorlist"));
      part.classList.toggle("is-hidden", !wanted);
    }
  }

  function trueFalse() {
    var first = document.getElementById("id_choices-0-text");
    var second = document.getElementById("id_choices-1-text");
    if (kind.value !== "true_false" || !first || !second || first.value || second.value) return;
    first.value = "True";
    second.value = "False";
  }

  kind.addEventListener("change", function () { trueFalse(); show(); });
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.name || !/^choices-\d+-is_correct$/.test(box.name) || !box.checked) return;
    var boxes = document.querySelectorAll("input[name$='-is_correct']");
    for (var i = 0; i < boxes.length; i++) if (boxes[i] !== box) boxes[i].checked = false;
  });
  show();
});
