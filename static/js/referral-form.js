/* New referral form: fill the council area from the postcode district as it is typed.
   Without this script the "Look up" button does the same on the server. */
(function () {
  var form = document.getElementById("referral-form");
  if (!form) { return; }
  var districts = JSON.parse(form.getAttribute("data-districts") || "{}");
  var district = document.getElementById("postcode_district");
  var council = document.getElementById("council_area_id");
  var filledFor = document.getElementById("council_filled_for");
  if (!district || !council || !filledFor) { return; }
  function squash(text) { return text.replace(/\s+/g, "").toUpperCase(); }
  // Filled in from a district (by the server or by this script), or with "no fixed abode"
  // from the custody contact, and not changed since.
  var filledByScript = filledFor.value !== "" && (
    districts[squash(filledFor.value)] === council.value ||
    filledFor.value === "no-fixed-abode:" + council.value);
  function update() {
    var key = squash(district.value);
    if (districts[key] && (council.value === "" || filledByScript)) {
      council.value = districts[key];
      filledFor.value = key;
      filledByScript = true;
    }
  }
  district.addEventListener("input", update);
  council.addEventListener("change", function () {
    filledByScript = false;
    filledFor.value = "";
  });
})();
/* Contact details: the phone box appears as soon as "Phone call" or "Text message" is
   chosen, and the name box for the ways that need one. Without this script both show. */
(function () {
  var blocks = document.querySelectorAll(".contact-details[data-show-for]");
  var radios = document.querySelectorAll("input[name='contact_method']");
  if (!blocks.length || !radios.length) { return; }
  function chosen() {
    for (var i = 0; i < radios.length; i++) { if (radios[i].checked) { return radios[i].value; } }
    return "";
  }
  function update() {
    var method = chosen();
    for (var i = 0; i < blocks.length; i++) {
      var wanted = blocks[i].getAttribute("data-show-for").split(" ");
      var hasError = blocks[i].querySelector(".has-error") !== null;
      blocks[i].hidden = !hasError && wanted.indexOf(method) === -1;
    }
  }
  for (var i = 0; i < radios.length; i++) { radios[i].addEventListener("change", update); }
  update();
})();
