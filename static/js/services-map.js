/* The services map: asks the server for the markers inside the visible box at the
   current zoom (clustered there when there are many) after every pan or zoom. Every
   text from the server is placed with textContent, never as markup. */
(function () {
  'use strict';
  var box = document.getElementById('services-map');
  if (!box || !window.L) { return; }
  var settings = JSON.parse(box.getAttribute('data-settings'));
  var count = document.getElementById('map-count');
  box.classList.add('is-live');

  var map = L.map(box, {minZoom: 4, maxZoom: 19, zoomControl: true});
  L.control.scale({imperial: false}).addTo(map);
  var attribution = map.attributionControl;
  attribution.setPrefix(false);

  function escaped(text) {
    var span = document.createElement('span');
    span.textContent = text;
    return span.innerHTML;
  }
  (settings.dataAttributions || []).forEach(function (text) {
    attribution.addAttribution(escaped(text));
  });

  var labelsShown = false;
  function showAreaNames() {
    if (labelsShown || !settings.areas) { return; }
    labelsShown = true;
    var names = L.layerGroup().addTo(map);
    settings.areas.forEach(function (area) {
      var text = document.createElement('span');
      text.className = 'area-label';
      text.textContent = area[0];
      L.marker([area[1], area[2]], {
        icon: L.divIcon({className: 'area-label-icon', html: text.outerHTML, iconSize: null}),
        interactive: false, keyboard: false
      }).addTo(names);
    });
  }
  if (settings.tiles) {
    var tiles = L.tileLayer(settings.tiles, {maxZoom: 19, attribution: escaped(settings.tilesAttribution)});
    tiles.once('tileerror', showAreaNames);  // offline: at least name the areas
    tiles.addTo(map);
  } else {
    box.classList.add('no-tiles');
    showAreaNames();
    if (settings.outlines) {
      fetch(settings.outlines, {credentials: 'same-origin'}).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (outline) {
        if (outline) {
          L.geoJSON(outline, {interactive: false, style: {color: '#505a5f', weight: 1, fill: false}})
            .addTo(map).bringToBack();
        }
      }).catch(function () {});
    }
  }

  var origin = settings.origin;
  if (origin) {
    var centre = [origin.lat, origin.lon];
    L.circle(centre, {radius: origin.radiusKm * 1000, color: '#1d70b8', weight: 2,
                      fillOpacity: 0.05, interactive: false, className: 'search-radius'}).addTo(map);
    var pin = document.createElement('span');
    pin.className = 'origin-pin';
    pin.textContent = origin.label;
    L.marker(centre, {
      icon: L.divIcon({className: 'origin-marker', html: pin.outerHTML, iconSize: null}),
      keyboard: false, interactive: false, zIndexOffset: 1000
    }).addTo(map);
    map.setView(centre, origin.zoom);
  } else {
    map.fitBounds(settings.extent);
  }

  var layer = L.layerGroup().addTo(map);
  var pending = null;
  var loads = 0;
  // The search card's words for a stale listing (row[7] is 1), so both warn alike.
  var STALE_WARNING = 'Not checked for over 6 months: confirm details before relying on them';

  function staleWarning() {
    var warning = document.createElement('div');
    warning.className = 'tag tag-warning svc-stale';
    warning.textContent = STALE_WARNING;
    return warning;
  }

  function serviceMarker(row) {
    var kind = settings.types[row[2]];
    var badge = document.createElement('span');
    badge.className = 'svc-badge';
    badge.style.background = kind.colour;
    badge.style.color = kind.text;
    badge.textContent = kind.abbr;
    var marker = L.marker([row[0], row[1]], {
      icon: L.divIcon({className: 'svc-marker', html: badge.outerHTML, iconSize: [30, 30],
                       iconAnchor: [15, 15], popupAnchor: [0, -12]}),
      title: row[3] + ' (' + kind.name + ')', keyboard: true
    });
    marker.bindPopup(function () {
      var popup = document.createElement('div');
      popup.className = 'svc-popup';
      function line(tag, text) {
        var el = document.createElement(tag);
        el.textContent = text;
        popup.appendChild(el);
        return el;
      }
      line('strong', row[3]);
      line('div', kind.name);
      if (row[4]) { line('div', row[4]); }
      if (row[5]) { line('div', 'Phone: ' + row[5]); }
      if (row[7]) { popup.appendChild(staleWarning()); }
      line('a', 'View the service').href = settings.serviceUrl.replace('{id}', String(row[6]));
      return popup;
    });
    return marker;
  }

  function clusterMarker(cell) {
    var n = cell[2];
    var members = cell[3];
    var bubble = document.createElement('span');
    bubble.className = 'svc-cluster' + (n >= 100 ? ' svc-cluster-large' : '');
    bubble.textContent = n >= 1000 ? Math.round(n / 100) / 10 + 'k' : String(n);
    var size = n >= 100 ? 44 : 36;
    var marker = L.marker([cell[0], cell[1]], {
      icon: L.divIcon({className: 'svc-marker', html: bubble.outerHTML,
                       iconSize: [size, size], iconAnchor: [size / 2, size / 2]}),
      title: n + ' service locations here: ' + (members ? 'select to list them' : 'select to zoom in'),
      keyboard: true
    });
    if (members) {
      marker.bindPopup(function () {
        var list = document.createElement('ul');
        list.className = 'svc-popup svc-popup-list';
        members.forEach(function (row) {
          var item = document.createElement('li');
          var link = document.createElement('a');
          link.textContent = row[3];
          link.href = settings.serviceUrl.replace('{id}', String(row[6]));
          item.appendChild(link);
          var kind = document.createElement('div');
          kind.textContent = settings.types[row[2]].name + (row[4] ? ', ' + row[4] : '');
          item.appendChild(kind);
          if (row[7]) { item.appendChild(staleWarning()); }
          list.appendChild(item);
        });
        return list;
      });
    } else {
      marker.on('click', function () {
        map.setView([cell[0], cell[1]], Math.min(map.getZoom() + 2, 19));
      });
    }
    return marker;
  }

  function say(data) {
    if (!count) { return; }
    var n = data.services;
    var where = origin ? ' within ' + origin.radiusKm + ' km of ' + origin.label + ' in view' : ' in view';
    var what = settings.what ? ' for ' + settings.what : '';
    count.textContent = n + ' active service' + (n === 1 ? '' : 's') + what + where + '. ' +
      (data.clusters.length ? 'Numbered circles are groups: zoom in, or select one, to separate them.' : '');
  }

  function refresh() {
    var bounds = map.getBounds();
    var query = 'bbox=' + [Math.max(bounds.getWest(), -180), Math.max(bounds.getSouth(), -90),
                           Math.min(bounds.getEast(), 180), Math.min(bounds.getNorth(), 90)]
      .map(function (v) { return v.toFixed(5); }).join(',') + '&zoom=' + map.getZoom();
    if (origin) { query += '&lat=' + origin.lat + '&lon=' + origin.lon; }
    var url = settings.markers + (settings.markers.indexOf('?') < 0 ? '?' : '&') + query;
    if (pending) { pending.abort(); }
    var controller = window.AbortController ? new AbortController() : null;
    pending = controller;
    box.setAttribute('aria-busy', 'true');
    fetch(url, {credentials: 'same-origin', signal: controller ? controller.signal : undefined})
      .then(function (r) {
        if (!r.ok) { throw new Error(r.status === 429 ? 'busy' : 'failed'); }
        return r.json();
      })
      .then(function (data) {
        layer.clearLayers();
        data.clusters.forEach(function (cell) { clusterMarker(cell).addTo(layer); });
        data.markers.forEach(function (row) { serviceMarker(row).addTo(layer); });
        say(data);
        box.setAttribute('aria-busy', 'false');
        box.setAttribute('data-state', 'ready');
        loads += 1;
        box.setAttribute('data-loads', String(loads));
      })
      .catch(function (error) {
        if (error.name === 'AbortError') { return; }
        box.setAttribute('aria-busy', 'false');
        if (count) {
          count.textContent = error.message === 'busy'
            ? 'The map is busy: wait a moment and move it again.'
            : 'The services could not be loaded. Use the list instead.';
        }
      });
  }
  map.on('moveend', refresh);
  refresh();
})();
