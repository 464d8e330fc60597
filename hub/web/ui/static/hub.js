// Huiliu UI: the little behaviour the pages need. No framework, no build step.
document.addEventListener("submit", function (event) {
  var form = event.target;
  // the pressed button's own question (discard) wins over the form's (replay)
  var button = event.submitter;
  var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});
document.addEventListener("change", function (event) {
  var box = event.target;
  var name = box.getAttribute && box.getAttribute("data-select-all");
  if (!name) return;
  box.form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (other) {
    other.checked = box.checked;
  });
});
// "Expand all" with the e key on the contact page; Escape collapses.
document.addEventListener("keydown", function (event) {
  if (event.target.tagName === "INPUT" || event.target.tagName === "TEXTAREA") return;
  var open = event.key === "e" ? true : event.key === "Escape" ? false : null;
  if (open === null) return;
  document.querySelectorAll(".timeline details").forEach(function (d) { d.open = open; });
});
