/* New referral form: fill the council area from the postcode district as it is typed.
   Without this script the "Look up" button does the same on the server. */
(function () {
  var form = document.getElementById("referral-form");
  if (!form) { return; }
  var districts = JSON.parse(form.getAttribute("data-districts") || "{}");
  var district = document.getElementById("postcode_district");
  var council = document.getElementById("council_area_id");
  var filledByScript = false;
  if (!district || !council) { return; }
  function update() {
    var key = district.value.replace(/\s+/g, "").toUpperCase();
    if (districts[key] && (council.value === "" || filledByScript)) {
      council.value = districts[key];
      filledByScript = true;
    }
  }
  district.addEventListener("input", update);
  council.addEventListener("change", function () { filledByScript = false; });
})();
