"""Turning results into files: notebook execution (:mod:`lab.export.notebook`), one offline HTML page
(:mod:`lab.export.html`) and browser-playable video (:mod:`lab.export.video`). No analysis happens here."""
