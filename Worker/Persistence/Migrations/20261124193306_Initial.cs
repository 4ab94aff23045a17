using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Worker.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "jobs",
                columns: table => new
                {
                    type = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    stream_entry_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    status = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    progress_current = table.Column<int>(type: "integer", nullable: true),
                    progress_total = table.Column<int>(type: "integer", nullable: true),
                    progress_message = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true),
                    last_error = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_jobs", x => new { x.type, x.id });
                });

            migrationBuilder.CreateTable(
                name: "noop_effects",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    job_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    consumer = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    applied_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_noop_effects", x => x.id);
                });

            // The seeds' backend owns these tables; a deployment against its database already has them, so they are
            // created only where missing (a standalone install) and never dropped by Down.
            migrationBuilder.Sql("""
                CREATE TABLE IF NOT EXISTS sections (id uuid PRIMARY KEY);
                CREATE TABLE IF NOT EXISTS posts (
                    id uuid PRIMARY KEY,
                    section_id uuid NOT NULL REFERENCES sections (id) ON DELETE CASCADE);
                CREATE TABLE IF NOT EXISTS links (
                    id uuid PRIMARY KEY,
                    post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
                    url text NOT NULL,
                    metadata jsonb NULL,
                    updated_at timestamp with time zone NULL);
                """);

            migrationBuilder.CreateIndex(
                name: "ix_jobs_status_updated_at",
                table: "jobs",
                columns: new[] { "status", "updated_at" });

            migrationBuilder.CreateIndex(
                name: "ix_noop_effects_job_id",
                table: "noop_effects",
                column: "job_id");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "jobs");

            migrationBuilder.DropTable(
                name: "noop_effects");
        }
    }
}
