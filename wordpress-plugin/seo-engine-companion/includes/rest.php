<?php
/**
 * REST routes under /wp-json/seo-engine/v1 (or ?rest_route=/seo-engine/v1/...):
 *
 *   GET  /posts?content_id=...&post_type=post&include_trash=0   edit_posts      posts carrying a content id
 *   GET  /status                                                edit_posts      version, configuration, SEO meta
 *   GET  /settings                                              manage_options  settings (never the secret)
 *   POST /settings  {product_url, site_id, secret}              manage_options  change settings
 *   POST /webhook-test                                          manage_options  send a signed "ping", blocking
 *   GET  /auth-check                                            public          did the credentials reach PHP?
 */

namespace SeoEngineCompanion;

if (!defined('ABSPATH')) {
    exit;
}

function register_routes(): void
{
    register_rest_route(REST_NAMESPACE, '/posts', [
        'methods' => \WP_REST_Server::READABLE,
        'callback' => __NAMESPACE__ . '\\rest_find_posts',
        'permission_callback' => static fn() => current_user_can('edit_posts'),
        'args' => [
            'content_id' => [
                'type' => 'string',
                'required' => true,
                'pattern' => '^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$',
            ],
            'post_type' => ['type' => 'string', 'default' => 'post'],
            'include_trash' => ['type' => 'boolean', 'default' => false],
        ],
    ]);
    register_rest_route(REST_NAMESPACE, '/status', [
        'methods' => \WP_REST_Server::READABLE,
        'callback' => __NAMESPACE__ . '\\rest_status',
        'permission_callback' => static fn() => current_user_can('edit_posts'),
    ]);
    register_rest_route(REST_NAMESPACE, '/settings', [
        [
            'methods' => \WP_REST_Server::READABLE,
            'callback' => static fn() => rest_ensure_response(public_settings()),
            'permission_callback' => static fn() => current_user_can('manage_options'),
        ],
        [
            'methods' => \WP_REST_Server::EDITABLE,
            'callback' => __NAMESPACE__ . '\\rest_save_settings',
            'permission_callback' => static fn() => current_user_can('manage_options'),
            'args' => [
                'product_url' => ['type' => 'string'],
                'site_id' => ['type' => 'string'],
                'secret' => ['type' => 'string'],
            ],
        ],
    ]);
    register_rest_route(REST_NAMESPACE, '/auth-check', [
        'methods' => \WP_REST_Server::READABLE,
        'callback' => __NAMESPACE__ . '\\rest_auth_check',
        // Public on purpose: it must answer when authentication fails, to say why.
        'permission_callback' => '__return_true',
    ]);
    register_rest_route(REST_NAMESPACE, '/webhook-test', [
        'methods' => \WP_REST_Server::CREATABLE,
        'callback' => __NAMESPACE__ . '\\rest_webhook_test',
        'permission_callback' => static fn() => current_user_can('manage_options'),
    ]);
}

function rest_find_posts(\WP_REST_Request $request)
{
    $post_type = (string) $request['post_type'];
    $type = get_post_type_object($post_type);
    if (!$type || !$type->show_in_rest) {
        return new \WP_Error('rest_invalid_param', __('Unknown post type.', 'seo-engine-companion'), ['status' => 400, 'params' => ['post_type' => 'unknown post type']]);
    }
    $statuses = array_values(array_diff(get_post_stati(), ['auto-draft', 'inherit']));
    if (!$request['include_trash']) {
        $statuses = array_values(array_diff($statuses, ['trash']));
    }
    $query = new \WP_Query([
        'post_type' => $post_type,
        'post_status' => $statuses,
        'meta_key' => META_KEY,
        'meta_value' => (string) $request['content_id'],
        'posts_per_page' => 20,
        'orderby' => 'ID',
        'order' => 'ASC',
        'no_found_rows' => true,
        'ignore_sticky_posts' => true,
        'suppress_filters' => true,
        'update_post_term_cache' => false,
    ]);
    $posts = [];
    foreach ($query->posts as $post) {
        if (!current_user_can('edit_post', $post->ID)) {
            continue;
        }
        $posts[] = [
            'id' => (int) $post->ID,
            'type' => $post->post_type,
            'status' => $post->post_status,
            'title' => $post->post_title,
            'link' => (string) get_permalink($post),
            'date_gmt' => rest_date_or_null($post->post_date_gmt),
            'modified_gmt' => rest_date_or_null($post->post_modified_gmt),
            'content_id' => (string) get_post_meta($post->ID, META_KEY, true),
        ];
    }
    return rest_ensure_response(['posts' => $posts]);
}

function rest_date_or_null(string $mysql_gmt): ?string
{
    return ($mysql_gmt === '' || str_starts_with($mysql_gmt, '0000')) ? null : mysql_to_rfc3339($mysql_gmt);
}

/**
 * Tells a client whose credentials were not accepted whether they reached PHP at all.
 *
 * WordPress answers "rest_not_logged_in" both when the host strips the Authorization header
 * and (seen with WordPress 6.1) when an application password is wrong, because it checks for
 * application password errors before it has looked at the credentials. Here the user is
 * determined first, so the answer is exact. Reveals nothing a login attempt would not.
 */
function rest_auth_check()
{
    global $wp_rest_application_password_status;
    $received = isset($_SERVER['PHP_AUTH_USER']) || !empty($_SERVER['HTTP_AUTHORIZATION'])
        || !empty($_SERVER['REDIRECT_HTTP_AUTHORIZATION']);
    $user = wp_get_current_user();
    $error = is_wp_error($wp_rest_application_password_status) ? $wp_rest_application_password_status->get_error_code() : null;
    return rest_ensure_response([
        'authorization_received' => $received,
        'authenticated' => $user->exists(),
        'error' => $error,
    ]);
}

function rest_status()
{
    $settings = get_settings();
    return rest_ensure_response([
        'version' => VERSION,
        'configured' => is_configured($settings),
        'site_id' => $settings['site_id'],
        'product_url' => $settings['product_url'],
        'seo_plugins' => array_keys(seo_plugins()),
        'seo_meta' => seo_meta_keys(),
        'content_id_meta' => META_KEY,
    ]);
}

function rest_save_settings(\WP_REST_Request $request)
{
    $input = array_intersect_key($request->get_params(), array_flip(['product_url', 'site_id', 'secret']));
    $saved = save_settings($input);
    if (is_wp_error($saved)) {
        return $saved;
    }
    return rest_ensure_response(public_settings($saved));
}

function rest_webhook_test()
{
    if (!is_configured()) {
        return new \WP_Error('seo_engine_not_configured', __('Set the product URL, site id and secret first.', 'seo-engine-companion'), ['status' => 409]);
    }
    $result = Webhooks::send(Webhooks::ping_payload(), true);
    if (is_wp_error($result)) {
        return new \WP_Error('seo_engine_webhook_failed', $result->get_error_message(), ['status' => 502]);
    }
    return rest_ensure_response([
        'delivered' => wp_remote_retrieve_response_code($result) >= 200 && wp_remote_retrieve_response_code($result) < 300,
        'status' => (int) wp_remote_retrieve_response_code($result),
    ]);
}
