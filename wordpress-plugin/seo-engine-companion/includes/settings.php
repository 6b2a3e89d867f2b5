<?php
/**
 * Settings: the product URL, this site's id in the product, and the webhook secret.
 *
 * Stored in one option. Set from the settings page (Settings > SEO Engine) or through
 * POST /wp-json/seo-engine/v1/settings (administrators), which the product calls when the
 * site is connected. The secret is never shown again once saved.
 */

namespace SeoEngineCompanion;

if (!defined('ABSPATH')) {
    exit;
}

/** @return array{product_url: string, site_id: string, secret: string} */
function get_settings(): array
{
    $saved = get_option(OPTION, []);
    $saved = is_array($saved) ? $saved : [];
    return [
        'product_url' => (string) ($saved['product_url'] ?? ''),
        'site_id' => (string) ($saved['site_id'] ?? ''),
        'secret' => (string) ($saved['secret'] ?? ''),
    ];
}

function is_configured(?array $settings = null): bool
{
    $settings ??= get_settings();
    return $settings['product_url'] !== '' && $settings['site_id'] !== '' && $settings['secret'] !== '';
}

function webhook_url(?array $settings = null): string
{
    $settings ??= get_settings();
    if ($settings['product_url'] === '' || $settings['site_id'] === '') {
        return '';
    }
    return untrailingslashit($settings['product_url']) . '/v1/webhooks/wordpress/' . rawurlencode($settings['site_id']);
}

/** Plain http is allowed only on local and development sites (WP_ENVIRONMENT_TYPE). */
function allows_plain_http(): bool
{
    return in_array(wp_get_environment_type(), ['local', 'development'], true);
}

/**
 * Validate and merge ``$input`` into the saved settings. Missing keys keep their value;
 * an empty product_url or site_id clears it. Returns the new settings or a WP_Error.
 *
 * @return array|\WP_Error
 */
function validate_settings(array $input)
{
    $settings = get_settings();
    if (array_key_exists('product_url', $input)) {
        $url = trim((string) $input['product_url']);
        if ($url !== '') {
            $scheme = strtolower((string) wp_parse_url($url, PHP_URL_SCHEME));
            $host = (string) wp_parse_url($url, PHP_URL_HOST);
            if (!filter_var($url, FILTER_VALIDATE_URL) || $host === '' || wp_parse_url($url, PHP_URL_QUERY) !== null
                || wp_parse_url($url, PHP_URL_USER) !== null) {
                return new \WP_Error('seo_engine_invalid_product_url', __('The product URL is not a valid URL.', 'seo-engine-companion'), ['status' => 400]);
            }
            if ($scheme !== 'https' && !($scheme === 'http' && allows_plain_http())) {
                return new \WP_Error('seo_engine_invalid_product_url', __('The product URL must use https.', 'seo-engine-companion'), ['status' => 400]);
            }
        }
        $settings['product_url'] = untrailingslashit($url);
    }
    if (array_key_exists('site_id', $input)) {
        $site_id = trim((string) $input['site_id']);
        if ($site_id !== '' && !preg_match('/^[A-Za-z0-9_-]{1,64}$/', $site_id)) {
            return new \WP_Error('seo_engine_invalid_site_id', __('The site id may hold letters, digits, "-" and "_" (at most 64).', 'seo-engine-companion'), ['status' => 400]);
        }
        $settings['site_id'] = $site_id;
    }
    if (array_key_exists('secret', $input) && (string) $input['secret'] !== '') {
        $secret = (string) $input['secret'];
        if (strlen($secret) < 32 || strlen($secret) > 256) {
            return new \WP_Error('seo_engine_invalid_secret', __('The secret must be 32 to 256 characters long.', 'seo-engine-companion'), ['status' => 400]);
        }
        $settings['secret'] = $secret;
    }
    return $settings;
}

/** @return array|\WP_Error the saved settings */
function save_settings(array $input)
{
    $settings = validate_settings($input);
    if (is_wp_error($settings)) {
        return $settings;
    }
    // The option holds a secret: keep it out of the autoloaded options.
    if (get_option(OPTION, null) === null) {
        add_option(OPTION, $settings, '', false);
    } else {
        update_option(OPTION, $settings, false);
    }
    return $settings;
}

/** What may be shown about the settings: never the secret itself. */
function public_settings(?array $settings = null): array
{
    $settings ??= get_settings();
    return [
        'product_url' => $settings['product_url'],
        'site_id' => $settings['site_id'],
        'secret_set' => $settings['secret'] !== '',
        'webhook_url' => webhook_url($settings),
        'configured' => is_configured($settings),
    ];
}

// --- the settings page ------------------------------------------------------------------

function add_settings_page(): void
{
    add_options_page(
        __('SEO Engine', 'seo-engine-companion'),
        __('SEO Engine', 'seo-engine-companion'),
        'manage_options',
        'seo-engine-companion',
        __NAMESPACE__ . '\\render_settings_page'
    );
}

function register_settings(): void
{
    register_setting('seo_engine_companion', OPTION, [
        'type' => 'array',
        'sanitize_callback' => __NAMESPACE__ . '\\sanitize_from_form',
        'show_in_rest' => false,
        'default' => [],
    ]);
}

/** The settings page's sanitize callback: invalid input keeps the old values, with a notice. */
function sanitize_from_form($input): array
{
    $input = is_array($input) ? $input : [];
    $input = array_intersect_key(wp_unslash($input), array_flip(['product_url', 'site_id', 'secret']));
    $settings = validate_settings($input);
    if (is_wp_error($settings)) {
        add_settings_error(OPTION, $settings->get_error_code(), $settings->get_error_message());
        return get_settings();
    }
    return $settings;
}

function render_settings_page(): void
{
    if (!current_user_can('manage_options')) {
        return;
    }
    $settings = get_settings();
    ?>
    <div class="wrap">
        <h1><?php esc_html_e('SEO Engine Companion', 'seo-engine-companion'); ?></h1>
        <p><?php esc_html_e('The SEO Engine normally fills these in when you connect this site. Webhooks are sent only when all three are set.', 'seo-engine-companion'); ?></p>
        <form method="post" action="options.php">
            <?php settings_fields('seo_engine_companion'); ?>
            <table class="form-table" role="presentation">
                <tr>
                    <th scope="row"><label for="seo-engine-product-url"><?php esc_html_e('Product URL', 'seo-engine-companion'); ?></label></th>
                    <td><input type="url" class="regular-text" id="seo-engine-product-url" name="<?php echo esc_attr(OPTION); ?>[product_url]" value="<?php echo esc_attr($settings['product_url']); ?>" placeholder="https://api.example.com"></td>
                </tr>
                <tr>
                    <th scope="row"><label for="seo-engine-site-id"><?php esc_html_e('Site id', 'seo-engine-companion'); ?></label></th>
                    <td><input type="text" class="regular-text" id="seo-engine-site-id" name="<?php echo esc_attr(OPTION); ?>[site_id]" value="<?php echo esc_attr($settings['site_id']); ?>"></td>
                </tr>
                <tr>
                    <th scope="row"><label for="seo-engine-secret"><?php esc_html_e('Webhook secret', 'seo-engine-companion'); ?></label></th>
                    <td>
                        <input type="password" class="regular-text" id="seo-engine-secret" name="<?php echo esc_attr(OPTION); ?>[secret]" value="" autocomplete="new-password">
                        <p class="description"><?php echo $settings['secret'] !== '' ? esc_html__('A secret is set. Leave empty to keep it.', 'seo-engine-companion') : esc_html__('No secret is set.', 'seo-engine-companion'); ?></p>
                    </td>
                </tr>
            </table>
            <?php if (webhook_url($settings) !== '') : ?>
                <p><?php esc_html_e('Webhooks go to:', 'seo-engine-companion'); ?> <code><?php echo esc_html(webhook_url($settings)); ?></code></p>
            <?php endif; ?>
            <?php submit_button(); ?>
        </form>
    </div>
    <?php
}
