<?php
// Removes the plugin's settings (the webhook secret included). Post meta stays: it is what
// lets the SEO Engine find its posts again if the plugin is reinstalled.
if (!defined('WP_UNINSTALL_PLUGIN')) {
    exit;
}
delete_option('seo_engine_companion_settings');
