/* The "Print" button on printable reports. */
(function () {
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function () { window.print(); });
  }
  // Tables folded away on screen are printed open.
  window.addEventListener("beforeprint", function () {
    var folded = document.querySelectorAll("details.print-open");
    for (var i = 0; i < folded.length; i++) { folded[i].open = true; }
  });
})();
