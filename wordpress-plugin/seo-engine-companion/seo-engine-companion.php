<?php
/**
 * Plugin Name:       SEO Engine Companion
 * Description:       Lets the SEO Engine publish exactly once (a content id on each post, a lookup route) and tells it when its posts are updated, trashed, restored or deleted (signed webhooks).
 * Version:           1.0.0
 * Requires at least: 5.6
 * Requires PHP:      8.0
 * Author:            SEO Engine
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       seo-engine-companion
 */

/*
 * This plugin is GPL-2.0-or-later, as WordPress requires of the plugins it loads; the rest of the
 * repository (the SEO Engine backend it talks to over HTTP) is MIT-licensed: see LICENSE at the root.
 */

namespace SeoEngineCompanion;

if (!defined('ABSPATH')) {
    exit;
}

const VERSION = '1.0.0';
const META_KEY = 'seo_engine_content_id';
const JSON_LD_META_KEY = 'seo_engine_json_ld';
const REST_NAMESPACE = 'seo-engine/v1';
const OPTION = 'seo_engine_companion_settings';

require_once __DIR__ . '/includes/settings.php';
require_once __DIR__ . '/includes/meta.php';
require_once __DIR__ . '/includes/rest.php';
require_once __DIR__ . '/includes/webhooks.php';

add_action('init', __NAMESPACE__ . '\\register_meta_fields', 20);
add_action('wp_head', __NAMESPACE__ . '\\print_json_ld');
add_action('rest_api_init', __NAMESPACE__ . '\\register_routes');
Webhooks::init();
if (is_admin()) {
    add_action('admin_menu', __NAMESPACE__ . '\\add_settings_page');
    add_action('admin_init', __NAMESPACE__ . '\\register_settings');
}
