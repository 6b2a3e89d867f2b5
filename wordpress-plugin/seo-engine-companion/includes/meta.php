<?php
/**
 * Post meta exposed over the REST API.
 *
 * - seo_engine_content_id: the product's content id. A retried publish looks it up and
 *   updates its post instead of creating a second one. Shown in the "edit" context only.
 * - The SEO plugins' title, description and focus keyword meta, when such a plugin is active, so
 *   that the product can write them with the post (Yoast SEO and Rank Math keep them out of REST).
 * - seo_engine_json_ld: the article's structured data (schema.org Article, FAQPage), printed in
 *   the page's head by print_json_ld.
 *
 * Meta appears in REST only for post types that support "custom-fields" (posts and pages do).
 */

namespace SeoEngineCompanion;

if (!defined('ABSPATH')) {
    exit;
}

/** @return array<string, string[]> active SEO plugin => its meta keys */
function seo_plugins(): array
{
    $plugins = [];
    if (defined('WPSEO_VERSION')) {
        $plugins['yoast'] = ['_yoast_wpseo_title', '_yoast_wpseo_metadesc', '_yoast_wpseo_focuskw'];
    }
    if (defined('RANK_MATH_VERSION') || class_exists('RankMath', false)) {
        $plugins['rankmath'] = ['rank_math_title', 'rank_math_description', 'rank_math_focus_keyword'];
    }
    /** Filters the SEO plugins (and their meta keys) the companion exposes over REST. */
    return (array) apply_filters('seo_engine_companion_seo_plugins', $plugins);
}

/** @return string[] */
function seo_meta_keys(): array
{
    $keys = [];
    foreach (seo_plugins() as $plugin_keys) {
        foreach ((array) $plugin_keys as $key) {
            $keys[] = (string) $key;
        }
    }
    return array_values(array_unique($keys));
}

function can_edit_post_meta(bool $allowed, string $meta_key, int $post_id, int $user_id): bool
{
    if (!user_can($user_id, 'edit_posts')) {
        return false;
    }
    return $post_id ? user_can($user_id, 'edit_post', $post_id) : true;
}

function register_meta_fields(): void
{
    $auth = static fn($allowed, $meta_key, $post_id, $user_id = 0) =>
        can_edit_post_meta((bool) $allowed, (string) $meta_key, (int) $post_id, (int) $user_id);

    register_post_meta('', META_KEY, [
        'type' => 'string',
        'single' => true,
        'description' => 'SEO Engine content id',
        'sanitize_callback' => static fn($value) => preg_replace('/[^A-Za-z0-9_-]/', '', (string) $value),
        'auth_callback' => $auth,
        'show_in_rest' => ['schema' => ['type' => 'string', 'maxLength' => 100, 'context' => ['edit']]],
    ]);

    register_post_meta('', JSON_LD_META_KEY, [
        'type' => 'string',
        'single' => true,
        'description' => 'SEO Engine structured data (JSON-LD)',
        'sanitize_callback' => __NAMESPACE__ . '\\clean_json_ld',
        'auth_callback' => $auth,
        'show_in_rest' => ['schema' => ['type' => 'string', 'context' => ['edit']]],
    ]);

    foreach (seo_meta_keys() as $key) {
        register_post_meta('', $key, [
            'type' => 'string',
            'single' => true,
            'sanitize_callback' => 'sanitize_text_field',
            'auth_callback' => $auth,
            'show_in_rest' => ['schema' => ['type' => 'string', 'context' => ['edit']]],
        ]);
    }
}

/** Only a JSON array or object is kept (re-encoded, so nothing but JSON reaches the page). */
function clean_json_ld($value): string
{
    $decoded = json_decode((string) $value, true);
    if (!is_array($decoded)) {
        return '';
    }
    return (string) wp_json_encode($decoded, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
}

function print_json_ld(): void
{
    if (!is_singular()) {
        return;
    }
    $json = (string) get_post_meta((int) get_queried_object_id(), JSON_LD_META_KEY, true);
    if ($json === '') {
        return;
    }
    $decoded = json_decode($json, true);
    if (!is_array($decoded)) {
        return;
    }
    $items = array_keys($decoded) === range(0, count($decoded) - 1) ? $decoded : [$decoded];
    foreach ($items as $item) {
        // JSON_HEX_TAG: a "</script>" inside a value cannot close the tag.
        echo '<script type="application/ld+json">' . wp_json_encode($item, JSON_HEX_TAG | JSON_UNESCAPED_SLASHES)
            . "</script>\n";
    }
}
