<?php
// Loads one local WordPress instance for a PHP snippet run from the command line
// (WordPressServer.php()). The instance comes from the environment set by server.py.
$seo_engine_url = getenv('SEO_ENGINE_WP_URL') ?: 'http://127.0.0.1';
$seo_engine_parts = parse_url($seo_engine_url);
$_SERVER['HTTP_HOST'] = $seo_engine_parts['host'] . (isset($seo_engine_parts['port']) ? ':' . $seo_engine_parts['port'] : '');
$_SERVER['SERVER_NAME'] = $seo_engine_parts['host'];
$_SERVER['SERVER_PORT'] = (string) ($seo_engine_parts['port'] ?? 80);
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
$_SERVER['REMOTE_ADDR'] = '127.0.0.1';
define('WP_USE_THEMES', false);
require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
if (getenv('SEO_ENGINE_WP_USER')) {
    wp_set_current_user((int) getenv('SEO_ENGINE_WP_USER'));
}
unset($seo_engine_url, $seo_engine_parts);
