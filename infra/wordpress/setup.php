<?php
// Run once per fresh instance by server.py, after wp-admin/install.php: pretty permalinks,
// per-instance uploads, the companion plugin, and an application password for the admin.
// Prints one JSON line. Expects bootstrap.php to have been loaded and the admin to be user 1.
global $wp_rewrite;
$wp_rewrite->set_permalink_structure('/%postname%/');
flush_rewrite_rules(false);

update_option('upload_path', getenv('SEO_ENGINE_WP_UPLOADS'));
update_option('upload_url_path', getenv('SEO_ENGINE_WP_UPLOADS_URL'));

$result = activate_plugin('seo-engine-companion/seo-engine-companion.php');
if (is_wp_error($result)) {
    fwrite(STDERR, 'activate_plugin: ' . $result->get_error_message() . "\n");
    exit(2);
}
if (!wp_is_application_passwords_available()) {
    fwrite(STDERR, "application passwords are not available (WP_ENVIRONMENT_TYPE must be local)\n");
    exit(3);
}
$user = get_user_by('login', getenv('SEO_ENGINE_WP_ADMIN'));
[$password, $item] = WP_Application_Passwords::create_new_application_password($user->ID, ['name' => 'seo-engine-e2e']);
echo wp_json_encode(['user_id' => $user->ID, 'app_password' => $password, 'rest_url' => get_rest_url()]), "\n";
