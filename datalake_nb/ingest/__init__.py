"""Getting files in without typing what the lake can work out: times from the content
(``content_times``), metadata from paths (``templates``), whole trees and old archives."""
